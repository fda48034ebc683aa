using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Nanobox.Node.Tests.FirewallLab;

using Nanobox.Lab;

/// <summary>What the firewall lab tests ask of hosts: a port's state seen from another host, the agent's view, the kernel's tables.</summary>
internal static class FirewallProbe
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromMilliseconds(300);

    public static async Task<PortState> TcpAsync(LabHost from, IPAddress target, int port) =>
        (await from.ScanAsync(target, ScanRequest.ForTcp(port.ToString(System.Globalization.CultureInfo.InvariantCulture)) with { Timeout = ProbeTimeout })).Tcp(port);

    /// <summary>Polls until <paramref name="from"/> sees <paramref name="port"/> on every target in a state <paramref name="wanted"/> accepts; returns how long that took.</summary>
    public static async Task<TimeSpan> UntilAsync(LabHost from, IEnumerable<IPAddress> targets, int port, Func<PortState, bool> wanted, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var pending = targets.ToList();
        while (pending.Count > 0)
        {
            var states = await Task.WhenAll(pending.Select(t => TcpAsync(from, t, port)));
            pending = pending.Where((_, i) => !wanted(states[i])).ToList();
            if (pending.Count > 0 && clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{from.Name} still sees port {port} of {string.Join(", ", pending)} as {string.Join(", ", states.Where(s => !wanted(s)))} after {timeout.TotalSeconds:0} s");
            }
        }

        return clock.Elapsed;
    }

    public static bool Reached(PortState state) => state is PortState.Open or PortState.Closed;

    public static async Task<JsonElement> ShowAsync(LabHost host) =>
        JsonDocument.Parse((await host.NanoboxAsync("firewall", "show", "--json")).EnsureSuccess().Stdout).RootElement;

    public static async Task<IReadOnlyList<string>> PeersAsync(LabHost host) =>
        (await ShowAsync(host)).GetProperty("peers").EnumerateArray().Select(p => p.GetString()!).ToList();

    /// <summary>`nft list tables` inside the host.</summary>
    public static async Task<string> TablesAsync(LabHost host) => (await host.RunAsync("nft", ["list", "tables"])).EnsureSuccess().Stdout;

    public static async Task<string> TableAsync(LabHost host, string table) => (await host.RunAsync("nft", ["list", "table", .. table.Split(' ')])).EnsureSuccess().Stdout;

    public static async Task<long> GossipDroppedAsync(LabHost host) =>
        (await ClusterProbe.ClusterStatusAsync(host))!.Value.GetProperty("gossip").GetProperty("dropped").GetInt64();

    /// <summary>Sends 5 junk datagrams from <paramref name="from"/> to the gossip port of <paramref name="target"/>.</summary>
    public static async Task SendJunkToGossipAsync(LabHost from, IPAddress target) =>
        (await from.RunAsync("bash", ["-c", $"for i in 1 2 3 4 5; do printf 'junk' > /dev/udp/{target}/7946; done"])).EnsureSuccess();
}
