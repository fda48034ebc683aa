using System.Text.Json;
using System.Text.Json.Serialization;

namespace Nanobox.Lab;

[JsonConverter(typeof(JsonStringEnumConverter<ScanProtocol>))]
public enum ScanProtocol
{
    [JsonStringEnumMemberName("tcp")]
    Tcp,

    [JsonStringEnumMemberName("udp")]
    Udp,
}

/// <summary>What a probe of one port saw, in nmap's words.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PortState>))]
public enum PortState
{
    /// <summary>TCP: the connect succeeded (SYN-ACK). UDP: a datagram came back.</summary>
    [JsonStringEnumMemberName("open")]
    Open,

    /// <summary>TCP: reset (connection refused). UDP: ICMP port unreachable.</summary>
    [JsonStringEnumMemberName("closed")]
    Closed,

    /// <summary>TCP: no answer within the timeout. Both: an ICMP error other than port unreachable (e.g. admin-prohibited).</summary>
    [JsonStringEnumMemberName("filtered")]
    Filtered,

    /// <summary>UDP: no answer. A silent service and a drop rule look the same from outside.</summary>
    [JsonStringEnumMemberName("open|filtered")]
    OpenFiltered,
}

/// <summary>Which ports to probe and how hard. Ports are 1..65535; a list may be empty.</summary>
public sealed record ScanRequest
{
    public IReadOnlyList<int> Tcp { get; init; } = [];
    public IReadOnlyList<int> Udp { get; init; } = [];

    /// <summary>How long a port may stay silent before it counts as filtered (TCP) or open|filtered (UDP).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMilliseconds(400);

    /// <summary>Probes in flight at once; each is a socket, so it is capped below the open-files limit.</summary>
    public int Concurrency { get; init; } = 4000;

    /// <summary>A TCP scan of <paramref name="ports"/> ("22", "1-1024,8080", "all").</summary>
    public static ScanRequest ForTcp(string ports) => new() { Tcp = PortList.Parse(ports) };

    /// <summary>A UDP scan of <paramref name="ports"/>.</summary>
    public static ScanRequest ForUdp(string ports) => new() { Udp = PortList.Parse(ports) };

    /// <summary>The worst case: every port silent, in rounds of <see cref="Concurrency"/>, plus each protocol's lone first probe.</summary>
    public TimeSpan WorstCase =>
        Timeout * (Math.Ceiling((double)Tcp.Count / Concurrency) + Math.Ceiling((double)Udp.Count / Concurrency) + 2);

    /// <summary>The CLI options that ask for this scan (port lists as ranges: a full list would not fit in one argument).</summary>
    internal IEnumerable<string> ToArgs()
    {
        if (Tcp.Count > 0)
        {
            yield return "--tcp";
            yield return PortList.Format(Tcp);
        }

        if (Udp.Count > 0)
        {
            yield return "--udp";
            yield return PortList.Format(Udp);
        }

        yield return "--timeout-ms";
        yield return ((int)Timeout.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        yield return "--concurrency";
        yield return Concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>One probed port. <see cref="Reason"/> says what was seen: syn-ack, reset, no-response, port-unreachable, host-unreachable, ...</summary>
public sealed record PortResult(ScanProtocol Protocol, int Port, PortState State, string Reason)
{
    public override string ToString() => $"{Port}/{Protocol.ToString().ToLowerInvariant()} {State} ({Reason})";
}

/// <summary>A whole scan of one target, as the scanner in a lab host reported it.</summary>
public sealed record ScanResult(string Target, TimeSpan Elapsed, IReadOnlyList<PortResult> Ports)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public PortState Tcp(int port) => Of(ScanProtocol.Tcp, port);

    public PortState Udp(int port) => Of(ScanProtocol.Udp, port);

    /// <summary>The ports of <paramref name="protocol"/> found in <paramref name="state"/>, ascending.</summary>
    public IReadOnlyList<int> PortsIn(ScanProtocol protocol, PortState state) =>
        Ports.Where(p => p.Protocol == protocol && p.State == state).Select(p => p.Port).Order().ToList();

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static ScanResult FromJson(string json) =>
        JsonSerializer.Deserialize<ScanResult>(json, Json) ?? throw new LabException("the scanner printed no result");

    private PortState Of(ScanProtocol protocol, int port) =>
        Ports.FirstOrDefault(p => p.Protocol == protocol && p.Port == port)?.State
        ?? throw new KeyNotFoundException($"{port}/{protocol} was not scanned");
}

/// <summary>Port lists as people write them: "22,80,8000-8100"; "all" is 1-65535.</summary>
public static class PortList
{
    public static IReadOnlyList<int> Parse(string spec)
    {
        if (spec.Trim() == "all")
        {
            return Enumerable.Range(1, 65535).ToList();
        }

        var ports = new SortedSet<int>();
        foreach (var part in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var bounds = part.Split('-', 2);
            var low = ParsePort(bounds[0], spec);
            var high = bounds.Length == 2 ? ParsePort(bounds[1], spec) : low;
            if (high < low)
            {
                throw new FormatException($"port range {part} runs backwards in \"{spec}\"");
            }

            ports.UnionWith(Enumerable.Range(low, high - low + 1));
        }

        return ports.ToList();
    }

    /// <summary>The shortest spec that <see cref="Parse"/> reads back as the same set.</summary>
    public static string Format(IEnumerable<int> ports)
    {
        var sorted = ports.Distinct().Order().ToList();
        var parts = new List<string>();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1)
            {
                j++;
            }

            parts.Add(i == j ? $"{sorted[i]}" : $"{sorted[i]}-{sorted[j]}");
            i = j + 1;
        }

        return string.Join(',', parts);
    }

    private static int ParsePort(string text, string spec) =>
        int.TryParse(text, out var port) && port is >= 1 and <= 65535
            ? port
            : throw new FormatException($"\"{text}\" is not a port (1-65535) in \"{spec}\"");
}
