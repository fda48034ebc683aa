using System.Text;

namespace Nanobox.Lab.Cli;

/// <summary>A scan for people: like nmap, the state most ports of a protocol share is counted, not listed.</summary>
internal static class ScanReport
{
    // Up to this many ports in one state are listed; beyond it they are one "not shown" line.
    private const int ListLimit = 20;

    public static string Text(ScanResult result)
    {
        var text = new StringBuilder();
        var counts = string.Join(" and ", result.Ports.GroupBy(p => p.Protocol).Select(g => $"{g.Count()} {Name(g.Key)}"));
        text.AppendLine($"scan of {result.Target}: {counts} ports in {result.Elapsed.TotalSeconds:0.00} s");
        var hidden = result.Ports.GroupBy(p => (p.Protocol, p.State))
            .Where(g => g.Count() > ListLimit)
            .GroupBy(g => g.Key.Protocol, (_, groups) => groups.MaxBy(g => g.Count())!)
            .ToList();
        text.AppendLine($"{"PORT",-11} {"STATE",-14} REASON");
        foreach (var port in result.Ports.Where(p => !hidden.Any(h => h.Key == (p.Protocol, p.State))))
        {
            text.AppendLine($"{$"{port.Port}/{Name(port.Protocol)}",-11} {Name(port.State),-14} {port.Reason}");
        }

        foreach (var group in hidden)
        {
            text.AppendLine($"not shown: {group.Count()} {Name(group.Key.Protocol)} ports {Name(group.Key.State)}");
        }

        return text.ToString().TrimEnd();
    }

    private static string Name(ScanProtocol protocol) => protocol == ScanProtocol.Tcp ? "tcp" : "udp";

    private static string Name(PortState state) => state switch
    {
        PortState.Open => "open",
        PortState.Closed => "closed",
        PortState.Filtered => "filtered",
        _ => "open|filtered",
    };
}
