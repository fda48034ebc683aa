using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Serialization;

namespace Nanobox.Node.Firewall;

[JsonConverter(typeof(JsonStringEnumConverter<FirewallAction>))]
public enum FirewallAction
{
    Allow,
    Deny,
}

[JsonConverter(typeof(JsonStringEnumConverter<FirewallProtocol>))]
public enum FirewallProtocol
{
    Tcp,
    Udp,
}

/// <summary>
/// An operator's rule: `allow|deny PORT[-PORT]/PROTO [from CIDR]`. Rules are evaluated before the
/// built-in holes (SSH, join, peers), in the order they were added, so a deny can close what a built-in
/// would open; commit-confirm is the net under a deny that would cut SSH or the peers.
/// </summary>
/// <param name="From">A source network in CIDR form (normalised: host bits cleared), or null for anywhere.</param>
public sealed record FirewallRule(FirewallAction Action, int Port, int EndPort, FirewallProtocol Protocol, string? From)
{
    /// <summary>The rule as an operator writes it, and as `firewall show` prints it.</summary>
    public override string ToString() =>
        $"{(Action == FirewallAction.Allow ? "allow" : "deny")} {PortText}/{(Protocol == FirewallProtocol.Tcp ? "tcp" : "udp")}{(From is null ? "" : $" from {From}")}";

    [JsonIgnore]
    public string PortText => EndPort == Port ? Port.ToString(CultureInfo.InvariantCulture) : $"{Port}-{EndPort}";

    public bool Covers(int port, FirewallProtocol protocol) => Protocol == protocol && port >= Port && port <= EndPort;

    /// <summary>Parses `PORT[-PORT]/PROTO` and an optional CIDR (or bare address).</summary>
    /// <exception cref="FormatException">The message names the bad part and shows the right form.</exception>
    public static FirewallRule Parse(FirewallAction action, string portAndProtocol, string? from)
    {
        var slash = portAndProtocol.IndexOf('/');
        if (slash < 0)
        {
            throw new FormatException($"'{portAndProtocol}' has no protocol: write PORT/tcp or PORT/udp, e.g. 443/tcp or 8000-8100/tcp.");
        }

        var protocol = portAndProtocol[(slash + 1)..].ToLowerInvariant() switch
        {
            "tcp" => FirewallProtocol.Tcp,
            "udp" => FirewallProtocol.Udp,
            var other => throw new FormatException($"'{other}' is not a protocol the firewall filters: use tcp or udp."),
        };
        var ports = portAndProtocol[..slash].Split('-');
        if (ports.Length > 2 || !TryPort(ports[0], out var first) || !TryPort(ports[^1], out var last) || last < first)
        {
            throw new FormatException($"'{portAndProtocol[..slash]}' is not a port or a range: use 1-65535, or FIRST-LAST with FIRST <= LAST.");
        }

        return new FirewallRule(action, first, last, protocol, from is null ? null : NormaliseNetwork(from));
    }

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= ushort.MaxValue;

    /// <summary>`10.1.2.3/8` becomes `10.0.0.0/8`; a bare address becomes a /32 or /128.</summary>
    public static string NormaliseNetwork(string text)
    {
        var slash = text.IndexOf('/');
        if (!IPAddress.TryParse(slash < 0 ? text : text[..slash], out var address)
            || address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new FormatException($"'{text}' is not an address or a network: write e.g. 203.0.113.0/24, 2001:db8::/32 or 203.0.113.7.");
        }

        var bits = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var prefix = bits;
        if (slash >= 0 && (!int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > bits))
        {
            throw new FormatException($"'{text}' has a bad prefix length: after the '/' give 0-{bits}.");
        }

        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }

        return $"{new IPAddress(bytes)}/{prefix}";
    }
}
