using System.Text.Json;
using Nanobox.Lab;

namespace Nanobox.Bench;

/// <summary>
/// Counts what each lab host sends, on the wire, with nftables counters in a table of the benchmark's
/// own inside each host's network namespace (never the root one): gossip (UDP and TCP to or from port
/// 7946) and everything leaving eth0. Bytes are IP packets, headers included.
/// </summary>
public sealed class GossipTrafficMeter : IAsyncDisposable
{
    private const string Table = "nanobox_bench";
    private const int GossipPort = 7946;
    private readonly IReadOnlyList<LabHost> _hosts;

    private GossipTrafficMeter(IReadOnlyList<LabHost> hosts) => _hosts = hosts;

    public static async Task<GossipTrafficMeter> InstallAsync(IReadOnlyList<LabHost> hosts, CancellationToken ct)
    {
        var meter = new GossipTrafficMeter(hosts);
        var ruleset = Path.Combine(Path.GetTempPath(), $"{Table}-{Environment.ProcessId}.nft");
        await File.WriteAllTextAsync(ruleset, $$"""
            table inet {{Table}} {
              counter gossip_sent { }
              counter eth0_sent { }
              chain out {
                type filter hook output priority 0; policy accept;
                meta l4proto { tcp, udp } th sport {{GossipPort}} counter name "gossip_sent"
                meta l4proto { tcp, udp } th dport {{GossipPort}} th sport != {{GossipPort}} counter name "gossip_sent"
                oifname "eth0" counter name "eth0_sent"
              }
            }
            """, ct);
        try
        {
            foreach (var host in hosts)
            {
                (await host.RunAsync("nft", ["-f", ruleset], ct: ct)).EnsureSuccess();
            }
        }
        finally
        {
            File.Delete(ruleset);
        }

        return meter;
    }

    /// <summary>Bytes each host has sent so far: (gossip, all of eth0).</summary>
    public async Task<IReadOnlyList<(long Gossip, long Eth0)>> ReadAsync(CancellationToken ct)
    {
        var readings = new List<(long, long)>();
        foreach (var host in _hosts)
        {
            var json = (await host.RunAsync("nft", ["-j", "list", "counters", "table", "inet", Table], ct: ct)).EnsureSuccess().Stdout;
            var counters = JsonDocument.Parse(json).RootElement.GetProperty("nftables").EnumerateArray()
                .Where(e => e.TryGetProperty("counter", out _))
                .Select(e => e.GetProperty("counter"))
                .ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("bytes").GetInt64());
            readings.Add((counters["gossip_sent"], counters["eth0_sent"]));
        }

        return readings;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.RunAsync("nft", ["delete", "table", "inet", Table]);
        }
    }
}
