using System.Globalization;
using System.Net;

namespace Nanobox.Node.Cluster.Join;

/// <summary>Where `cluster join` connects: a host name or IP address, with the join port unless another is given.</summary>
public sealed record JoinAddress(string Host, int Port)
{
    /// <summary>Reads HOST, IPv4, IPv6, HOST:PORT, IPv4:PORT or [IPv6]:PORT.</summary>
    /// <exception cref="FormatException">Says which forms are accepted.</exception>
    public static JoinAddress Parse(string text)
    {
        text = text.Trim();
        string host;
        string? port = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']');
            host = close < 0 ? "" : text[1..close];
            var rest = close < 0 ? "" : text[(close + 1)..];
            if (close < 0 || (rest.Length > 0 && !rest.StartsWith(':')) || !IPAddress.TryParse(host, out _))
            {
                throw Invalid(text);
            }

            port = rest.Length > 0 ? rest[1..] : null;
        }
        else if (text.Count(c => c == ':') == 1)
        {
            (host, port) = (text[..text.IndexOf(':')], text[(text.IndexOf(':') + 1)..]);
        }
        else
        {
            // No colon, or several: a host or IPv4 alone, or a bare IPv6 address (which cannot carry a port).
            host = text;
        }

        if (!IPAddress.TryParse(host, out _) && Uri.CheckHostName(host) != UriHostNameType.Dns)
        {
            throw Invalid(text);
        }

        if (port is null)
        {
            return new JoinAddress(host, ClusterPorts.Join);
        }

        return int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is > 0 and <= 65535
            ? new JoinAddress(host, number)
            : throw Invalid(text);
    }

    /// <summary>As a person would type it back: IPv6 in brackets.</summary>
    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    private static FormatException Invalid(string text) =>
        new($"'{text}' is not a join address: give a host name or IP address of a cluster member, optionally with a port (HOST:PORT, [IPv6]:PORT; the join port is {ClusterPorts.Join})");
}
