using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Text.Json;
using Nanobox.Lab;
using Nanobox.Node.Overlay.Netlink;

namespace Nanobox.Bench;

/// <summary>
/// How the overlay should program the kernel, measured as issue 5 asks: per peer one all-zero FDB append,
/// one FDB entry and one neighbour entry on a vxlan device, programmed and removed for N peers through
/// (a) the rtnetlink library in-process, (b) iproute2 with a process per entry, (c) iproute2 batch mode;
/// and a reconcile read (dump the FDB and the neighbours) through netlink versus iproute2's JSON. All in a
/// scratch network namespace; the three ways alternate within each run so machine noise falls on all.
/// </summary>
public sealed class OverlayKernelBenchmark
{
    private static readonly int[] PeerCounts = [10, 100, 1000];
    private const string VxlanName = "nbx-vx";
    private const int MinimumReads = 10;

    private sealed record Peer(IPAddress Underlay, IPAddress Overlay, PhysicalAddress Mac)
    {
        public string MacText => string.Join(':', Mac.GetAddressBytes().Select(b => b.ToString("x2")));
    }

    /// <summary>One way to put the peers' entries into the kernel and take them out again.</summary>
    private abstract class Programmer(string name)
    {
        public string Name { get; } = name;

        public abstract Task ProgramAsync(IReadOnlyList<Peer> peers);

        public abstract Task RemoveAsync(IReadOnlyList<Peer> peers);
    }

    private sealed class NetlinkProgrammer(RtNetlink kernel, NetDevice vxlan) : Programmer("netlink")
    {
        public override Task ProgramAsync(IReadOnlyList<Peer> peers)
        {
            foreach (var peer in peers)
            {
                kernel.Fdb.Append(vxlan, new FdbEntry(FdbEntry.AllZeroMac, peer.Underlay));
                kernel.Fdb.Replace(vxlan, new FdbEntry(peer.Mac, peer.Underlay));
                kernel.Neighbours.Replace(vxlan, peer.Overlay, peer.Mac);
            }

            return Task.CompletedTask;
        }

        public override Task RemoveAsync(IReadOnlyList<Peer> peers)
        {
            foreach (var peer in peers)
            {
                kernel.Fdb.Delete(vxlan, new FdbEntry(FdbEntry.AllZeroMac, peer.Underlay));
                kernel.Fdb.Delete(vxlan, new FdbEntry(peer.Mac, peer.Underlay));
                kernel.Neighbours.Delete(vxlan, peer.Overlay);
            }

            return Task.CompletedTask;
        }
    }

    /// <summary>The same entries as iproute2 commands: (tool, arguments), in the order netlink sends them.</summary>
    private abstract class IprouteProgrammer(string name) : Programmer(name)
    {
        protected static IEnumerable<(string Tool, string[] Args)> Additions(Peer peer) =>
        [
            ("bridge", ["fdb", "append", "00:00:00:00:00:00", "dev", VxlanName, "dst", peer.Underlay.ToString()]),
            ("bridge", ["fdb", "replace", peer.MacText, "dev", VxlanName, "dst", peer.Underlay.ToString()]),
            ("ip", ["neigh", "replace", peer.Overlay.ToString(), "lladdr", peer.MacText, "dev", VxlanName, "nud", "permanent"]),
        ];

        protected static IEnumerable<(string Tool, string[] Args)> Removals(Peer peer) =>
        [
            ("bridge", ["fdb", "del", "00:00:00:00:00:00", "dev", VxlanName, "dst", peer.Underlay.ToString()]),
            ("bridge", ["fdb", "del", peer.MacText, "dev", VxlanName, "dst", peer.Underlay.ToString()]),
            ("ip", ["neigh", "del", peer.Overlay.ToString(), "dev", VxlanName]),
        ];

        public override Task ProgramAsync(IReadOnlyList<Peer> peers) => RunAsync(peers.SelectMany(Additions).ToList());

        public override Task RemoveAsync(IReadOnlyList<Peer> peers) => RunAsync(peers.SelectMany(Removals).ToList());

        protected abstract Task RunAsync(IReadOnlyList<(string Tool, string[] Args)> commands);
    }

    private sealed class ProcessPerEntryProgrammer(ScratchNamespace ns) : IprouteProgrammer("iproute2, a process per entry")
    {
        protected override async Task RunAsync(IReadOnlyList<(string Tool, string[] Args)> commands)
        {
            foreach (var (tool, args) in commands)
            {
                (await (tool == "bridge" ? ns.BridgeAsync(args) : ns.IpAsync(args))).EnsureSuccess();
            }
        }
    }

    private sealed class BatchProgrammer(ScratchNamespace ns) : IprouteProgrammer("iproute2 batch")
    {
        protected override async Task RunAsync(IReadOnlyList<(string Tool, string[] Args)> commands)
        {
            foreach (var tool in new[] { "bridge", "ip" })
            {
                (await ns.BatchAsync(tool, commands.Where(c => c.Tool == tool).Select(c => string.Join(' ', c.Args)))).EnsureSuccess();
            }
        }
    }

    public static async Task<int> RunAsync(int runs, TextWriter output)
    {
        await output.WriteLineAsync($"machine: {Environment.ProcessorCount} cores, kernel {Environment.OSVersion.Version}, load average {LoadAverage.Read()}, " +
            $"{(await ProcessRunner.RunAsync("ip", ["-V"])).Stdout.Trim()}, .NET {Environment.Version} (JIT)");
        var programming = new List<string>();
        var reading = new List<string>();
        foreach (var count in PeerCounts)
        {
            await output.WriteLineAsync($"{count} peers: {runs} runs of each way...");
            await using var ns = await ScratchNamespace.CreateAsync("nbxb");
            using var kernel = RtNetlink.Open(ns.Path);
            var vxlan = await OverlayAsync(ns, kernel);
            var peers = Peers(count);
            var netlink = new NetlinkProgrammer(kernel, vxlan);
            Programmer[] ways = [netlink, new ProcessPerEntryProgrammer(ns), new BatchProgrammer(ns)];

            // Warm-up (JIT, page cache), on a few peers, not timed.
            foreach (var way in ways)
            {
                await way.ProgramAsync(peers.Take(3).ToList());
                await way.RemoveAsync(peers.Take(3).ToList());
            }

            var programmed = ways.ToDictionary(w => w, _ => new List<double>());
            var removed = ways.ToDictionary(w => w, _ => new List<double>());
            for (var run = 0; run < runs; run++)
            {
                foreach (var way in ways)
                {
                    programmed[way].Add(await TimeAsync(() => way.ProgramAsync(peers)));
                    ReadThroughNetlink(kernel, vxlan, count, way.Name);
                    removed[way].Add(await TimeAsync(() => way.RemoveAsync(peers)));
                    ReadThroughNetlink(kernel, vxlan, 0, way.Name);
                }
            }

            programming.Add(Row(count, $"program {3 * count} entries", ways.Select(w => Stats.Median(programmed[w]))));
            programming.Add(Row(count, $"remove {3 * count} entries", ways.Select(w => Stats.Median(removed[w]))));

            await netlink.ProgramAsync(peers);
            var netlinkReads = new List<double>();
            var iprouteReads = new List<double>();
            for (var read = 0; read < Math.Max(runs, MinimumReads); read++)
            {
                netlinkReads.Add(await TimeAsync(() => Task.FromResult(ReadThroughNetlink(kernel, vxlan, count))));
                iprouteReads.Add(await TimeAsync(() => ReadThroughIprouteAsync(ns, count)));
            }

            var (fast, slow) = (Stats.Median(netlinkReads), Stats.Median(iprouteReads));
            reading.Add($"| {count} | {3 * count} | {fast:F2} | {slow:F2} | {slow / fast:F0} |");
        }

        await output.WriteLineAsync();
        await output.WriteLineAsync("Programming (per peer: one all-zero FDB append, one FDB entry, one neighbour entry), median of " + runs + " runs:");
        await output.WriteLineAsync();
        await output.WriteLineAsync("| peers | step | netlink in-process (ms) | iproute2, a process per entry (ms) | iproute2 batch (ms) | per entry / netlink | batch / netlink |");
        await output.WriteLineAsync("|---:|---|---:|---:|---:|---:|---:|");
        programming.ForEach(output.WriteLine);
        await output.WriteLineAsync();
        await output.WriteLineAsync($"Reconcile read (dump the vxlan device's FDB and neighbours and decode them), median of {Math.Max(runs, MinimumReads)}:");
        await output.WriteLineAsync();
        await output.WriteLineAsync("| peers | entries | netlink dump (ms) | `bridge -j fdb show` + `ip -j neigh show` + JSON parse (ms) | iproute2 / netlink |");
        await output.WriteLineAsync("|---:|---:|---:|---:|---:|");
        reading.ForEach(output.WriteLine);
        return 0;
    }

    /// <summary>The overlay's devices: an underlay veth, a bridge, and a vxlan (learning off, proxy on) on it, all up.</summary>
    private static async Task<NetDevice> OverlayAsync(ScratchNamespace ns, RtNetlink kernel)
    {
        (await ns.IpAsync("link", "add", "under", "type", "veth", "peer", "name", "under-peer")).EnsureSuccess();
        (await ns.IpAsync("addr", "add", "198.18.0.1/15", "dev", "under")).EnsureSuccess();
        var underlay = kernel.Links.Get("under")!.Device;
        kernel.Links.SetUp(underlay, true);
        var bridge = kernel.Links.CreateBridge("nbx-br").Device;
        var vxlan = kernel.Links.CreateVxlan(new VxlanSpec(VxlanName, 1, IPAddress.Parse("198.18.0.1"), underlay)).Device;
        kernel.Links.SetMaster(vxlan, bridge);
        kernel.Links.SetUp(vxlan, true);
        kernel.Links.SetUp(bridge, true);
        return vxlan;
    }

    /// <summary>Peer i: underlay 198.18.x.y, overlay 10.99.x.y, MAC 02:6e:00:00:x:y.</summary>
    private static List<Peer> Peers(int count) =>
        Enumerable.Range(2, count)
            .Select(i => new Peer(
                new IPAddress([198, 18, (byte)(i >> 8), (byte)i]),
                new IPAddress([10, 99, (byte)(i >> 8), (byte)i]),
                new PhysicalAddress([0x02, 0x6e, 0, 0, (byte)(i >> 8), (byte)i])))
            .ToList();

    /// <summary>What a reconcile through iproute2 would do: both JSON listings, parsed into entries.</summary>
    private static async Task ReadThroughIprouteAsync(ScratchNamespace ns, int count)
    {
        var fdb = JsonDocument.Parse((await ns.BridgeAsync("-j", "fdb", "show", "dev", VxlanName)).EnsureSuccess().Stdout).RootElement
            .EnumerateArray()
            .Where(e => e.TryGetProperty("dst", out _))
            .Select(e => new FdbEntry(PhysicalAddress.Parse(e.GetProperty("mac").GetString()!), IPAddress.Parse(e.GetProperty("dst").GetString()!)))
            .ToList();
        var neighbours = JsonDocument.Parse((await ns.IpAsync("-j", "neigh", "show", "dev", VxlanName)).EnsureSuccess().Stdout).RootElement
            .EnumerateArray()
            .Select(n => new Neighbour(IPAddress.Parse(n.GetProperty("dst").GetString()!), n.TryGetProperty("lladdr", out var mac) ? PhysicalAddress.Parse(mac.GetString()!) : null, NeighbourState.Permanent))
            .Count(n => n.Mac is not null);
        Count(fdb.Count, neighbours, 2 * count, count);
    }

    /// <summary>The same through netlink. The NOARP entries the kernel keeps for IPv6 multicast are not the overlay's (iproute2 hides them too).</summary>
    private static int ReadThroughNetlink(RtNetlink kernel, NetDevice vxlan, int count, string way = "reading") =>
        Count(kernel.Fdb.List(vxlan).Count, kernel.Neighbours.List(vxlan).Count(n => n.State == NeighbourState.Permanent), 2 * count, count, way);

    private static int Count(int fdb, int neighbours, int expectedFdb, int expectedNeighbours, string way = "reading") =>
        fdb == expectedFdb && neighbours == expectedNeighbours
            ? fdb
            : throw new InvalidOperationException($"{way}: the kernel holds {fdb} FDB entries and {neighbours} neighbours, expected {expectedFdb} and {expectedNeighbours}");

    private static async Task<double> TimeAsync(Func<Task> action)
    {
        var watch = Stopwatch.StartNew();
        await action();
        return watch.Elapsed.TotalMilliseconds;
    }

    private static string Row(int peers, string step, IEnumerable<double> medians)
    {
        var (netlink, perEntry, batch) = medians.ToList() switch { [var a, var b, var c] => (a, b, c), _ => throw new ArgumentException("three ways") };
        return $"| {peers} | {step} | {netlink:F1} | {perEntry:F1} | {batch:F1} | {perEntry / netlink:F0} | {batch / netlink:F1} |";
    }
}
