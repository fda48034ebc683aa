using System.Diagnostics;
using System.Net;
using System.Text;
using Nanobox.Lab;
using Nanobox.Node.Cluster;
using Nanobox.Node.Firewall;

namespace Nanobox.Bench;

/// <summary>
/// The firewall's costs, the product's code path against the naive way side by side in one run: one peer
/// added and removed with 10, 1 000 and 10 000 peers already in the set, and the whole ruleset replaced.
/// The product renders with <see cref="RulesetRenderer"/> and applies through <see cref="FirewallKernel"/>
/// (libnftables in-process), as <see cref="FirewallManager"/> does; the baseline keeps one iptables rule
/// per peer in a chain of its own, changed by one `iptables` process per peer and replaced with
/// `iptables-restore --noflush`. Runs only inside a network namespace of its own: it changes the firewall.
/// </summary>
public sealed class FirewallBenchmark
{
    private static readonly int[] SetSizes = [10, 1_000, 10_000];
    private const int WarmUpRuns = 2;
    private const int MaxRuns = 250;

    /// <summary>The baseline's chain in iptables' filter table, jumped to from INPUT.</summary>
    private const string Chain = "nanobox-peers";

    private static readonly FirewallDesign Design = new(
        [22],
        [],
        ClusterPorts.Join,
        [],
        FirewallOptions.DefaultJoinRatePerSecond,
        [ClusterPorts.Gossip, ClusterPorts.Control, ClusterPorts.Requests],
        [ClusterPorts.Gossip],
        Nanobox.Node.Overlay.OverlayNetwork.DefaultPort,
        [],
        []);

    private readonly FirewallKernel _kernel;
    private readonly CancellationToken _ct;

    private FirewallBenchmark(FirewallKernel kernel, CancellationToken ct)
    {
        _kernel = kernel;
        _ct = ct;
    }

    public static async Task<int> RunAsync(int runs, TextWriter output, CancellationToken ct)
    {
        if (runs is < 1 or > MaxRuns)
        {
            await Console.Error.WriteLineAsync($"RUNS must be 1 to {MaxRuns} (each run adds a peer 198.19.255.RUN), not {runs}");
            return 64;
        }

        var interfaces = NetworkInterfaces();
        if (interfaces is not ["lo"])
        {
            await Console.Error.WriteLineAsync($"nanobox-bench firewall changes the firewall, and this network namespace has the interfaces " +
                $"{string.Join(", ", interfaces)}: run it in a fresh one of its own, `unshare --net nanobox-bench firewall` (bench/firewall.sh does).");
            return 1;
        }

        var iptables = await CommandAsync("iptables", ["--version"], ct);
        await output.WriteLineAsync($"in a fresh network namespace (only lo); {iptables.Stdout.Trim()}; {runs} runs per case after {WarmUpRuns} warm-up runs; load average {LoadAverage.Read()}");
        using var kernel = new FirewallKernel();
        var bench = new FirewallBenchmark(kernel, ct);
        await CommandAsync("iptables", ["-N", Chain], ct);
        await CommandAsync("iptables", ["-A", "INPUT", "-j", Chain], ct);

        var spawn = new List<double>();
        for (var run = 0; run < WarmUpRuns + runs; run++)
        {
            spawn.Add(await TimeAsync(() => CommandAsync("true", [], ct)));
        }

        var cases = new List<Case>();
        foreach (var size in SetSizes)
        {
            await output.WriteLineAsync($"{size} peers in the set...");
            cases.AddRange(await bench.MeasurePeerChangesAsync(size, runs));
            cases.Add(await bench.MeasureReplacementAsync(size, runs));
        }

        await output.WriteLineAsync($"\nload average at the end: {LoadAverage.Read()}\n");
        await WriteAsync(output, cases, Measured(spawn));
        return 0;
    }

    /// <summary>Add then remove one peer per run, each done the three ways in turn so machine noise falls on all alike.</summary>
    private async Task<IEnumerable<Case>> MeasurePeerChangesAsync(int size, int runs)
    {
        var peers = Addresses(size);
        await LoadAsync(peers);
        int? target = size == SetSizes[^1] ? 1 : null;
        Case add = new("add one peer", size, target), remove = new("remove one peer", size, target);
        for (var run = 0; run < WarmUpRuns + runs; run++)
        {
            // A fresh address each run, outside the pre-loaded range.
            var extra = new IPAddress(new byte[] { 198, 19, 255, (byte)(run + 1) });
            var grown = new PeerAddresses(peers.All.Append(extra));
            var rule = new[] { Chain, "-s", $"{extra}/32", "-j", "ACCEPT" };
            TimeProduct(add, () => RulesetRenderer.RenderPeerChange(peers, grown, PeerAddresses.Empty, PeerAddresses.Empty)!);
            TimeProduct(remove, () => RulesetRenderer.RenderPeerChange(grown, peers, PeerAddresses.Empty, PeerAddresses.Empty)!);
            add.Process.Add(await TimeAsync(() => NftProcessAsync(RulesetRenderer.RenderPeerChange(peers, grown, PeerAddresses.Empty, PeerAddresses.Empty)!)));
            remove.Process.Add(await TimeAsync(() => NftProcessAsync(RulesetRenderer.RenderPeerChange(grown, peers, PeerAddresses.Empty, PeerAddresses.Empty)!)));
            add.Naive.Add(await TimeAsync(() => CommandAsync("iptables", ["-A", .. rule], _ct)));
            remove.Naive.Add(await TimeAsync(() => CommandAsync("iptables", ["-D", .. rule], _ct)));
        }

        await VerifyAsync(peers);
        return [add, remove];
    }

    /// <summary>The whole ruleset replaced with the same peers in it: the product's full table, the baseline's whole chain.</summary>
    private async Task<Case> MeasureReplacementAsync(int size, int runs)
    {
        var peers = Addresses(size);
        var restore = IptablesRestoreInput(peers);
        var replace = new Case("replace the whole ruleset", size, size == SetSizes[^1] ? 50 : null);
        for (var run = 0; run < WarmUpRuns + runs; run++)
        {
            TimeProduct(replace, () => RulesetRenderer.Render(Design, peers, PeerAddresses.Empty));
            replace.Naive.Add(await TimeAsync(() => IptablesRestoreAsync(restore)));
        }

        await VerifyAsync(peers);
        return replace;
    }

    /// <summary>The product's path as <see cref="FirewallManager"/> takes it: render, then one libnftables transaction; both timed.</summary>
    private void TimeProduct(Case into, Func<string> render)
    {
        var started = Stopwatch.GetTimestamp();
        var transaction = render();
        into.Render.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        _kernel.Run(transaction);
        into.Product.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>Both firewalls hold exactly <paramref name="peers"/>, as the product's table and the baseline's chain.</summary>
    private async Task LoadAsync(PeerAddresses peers)
    {
        _kernel.Run(RulesetRenderer.Render(Design, peers, PeerAddresses.Empty));
        await IptablesRestoreAsync(IptablesRestoreInput(peers));
        await VerifyAsync(peers);
    }

    /// <summary>A figure for a firewall that does not hold what was measured would be worthless: check both after each case.</summary>
    private async Task VerifyAsync(PeerAddresses peers)
    {
        var held = _kernel.Read()?.Peers;
        if (held is null || !held.Equals(peers))
        {
            throw new InvalidOperationException($"the nanobox table holds {held?.Count.ToString() ?? "no"} peers, expected {peers.Count}");
        }

        var rules = (await CommandAsync("iptables", ["-S", Chain], _ct)).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length - 1;
        if (rules != peers.Count)
        {
            throw new InvalidOperationException($"the iptables chain {Chain} holds {rules} rules, expected {peers.Count}");
        }
    }

    private static string IptablesRestoreInput(PeerAddresses peers)
    {
        // With --noflush only the chains named here are flushed: the chain is replaced, the rest of the table kept.
        var text = new StringBuilder("*filter\n").Append(':').Append(Chain).Append(" - [0:0]\n");
        foreach (var address in peers.All)
        {
            text.Append("-A ").Append(Chain).Append(" -s ").Append(address).Append("/32 -j ACCEPT\n");
        }

        return text.Append("COMMIT\n").ToString();
    }

    private Task IptablesRestoreAsync(string input) => CommandAsync("iptables-restore", ["--noflush"], _ct, input);

    private Task NftProcessAsync(string transaction) => CommandAsync("nft", ["-f", "-"], _ct, transaction);

    /// <summary>Distinct peer addresses from 198.18.0.0/15 (reserved for benchmarks).</summary>
    private static PeerAddresses Addresses(int count) =>
        new(Enumerable.Range(0, count).Select(i => new IPAddress(new byte[] { 198, 18, (byte)(i >> 8), (byte)i })));

    private static async Task<double> TimeAsync(Func<Task> operation)
    {
        var started = Stopwatch.GetTimestamp();
        await operation();
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    private static async Task<CommandResult> CommandAsync(string file, string[] args, CancellationToken ct, string? input = null)
    {
        var result = await ProcessRunner.RunAsync(file, args, ct: ct,
            stdin: input is null ? null : (stream, token) => stream.WriteAsync(Encoding.UTF8.GetBytes(input), token).AsTask());
        return result.Succeeded ? result : throw new InvalidOperationException(result.ToString());
    }

    private static async Task WriteAsync(TextWriter output, List<Case> cases, List<double> spawn)
    {
        await output.WriteLineAsync("| operation | peers in the set | nanobox: render + libnftables in-process, median / p90 / max (ms) | of which render, median (ms) | naive: iptables, median / p90 / max (ms) | naive / nanobox (medians) | nanobox through an `nft -f -` process instead, median (ms) | target (median) |");
        await output.WriteLineAsync("|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var row in cases)
        {
            var (product, naive) = (Measured(row.Product), Measured(row.Naive));
            var target = row.TargetMs is { } limit ? $"< {limit} ms: {(Stats.Median(product) < limit ? "PASS" : "MISS")}" : "";
            var process = row.Process.Count == 0 ? "" : Ms(Stats.Median(Measured(row.Process)));
            await output.WriteLineAsync($"| {row.Operation} | {row.Size:N0} | {Summary(product)} | {Ms(Stats.Median(Measured(row.Render)))} | {Summary(naive)} | " +
                $"{Stats.Median(naive) / Stats.Median(product):F1} | {process} | {target} |");
        }

        await output.WriteLineAsync($"\nn = {spawn.Count} per cell. Starting an empty process (`true`) from the benchmark, median / p90 / max: {Summary(spawn)} ms; " +
            "every iptables and `nft -f` figure includes one such start.");
    }

    /// <summary>The samples after the warm-up runs.</summary>
    private static List<double> Measured(List<double> samples) => samples[WarmUpRuns..];

    private static string Summary(List<double> samples) =>
        $"{Ms(Stats.Median(samples))} / {Ms(Stats.Percentile(samples, 0.9))} / {Ms(samples.Max())}";

    private static string Ms(double value) => value.ToString(value < 10 ? "F2" : "F1");

    /// <summary>
    /// The interfaces of this process's network namespace (/proc/self/net/dev follows the namespace). A fresh
    /// one (`unshare --net`) has only lo, so nothing that reaches this machine can be cut off in it; the host's
    /// has its uplink. Fails closed: an unreadable list is no list of interfaces.
    /// </summary>
    private static string[] NetworkInterfaces()
    {
        try
        {
            return [.. File.ReadLines("/proc/self/net/dev").Skip(2).Select(line => line.Split(':')[0].Trim())];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [$"(unreadable: {ex.Message})"];
        }
    }

    /// <summary>One row: the samples of one operation at one set size, warm-up runs included.</summary>
    private sealed class Case(string operation, int size, int? targetMs)
    {
        public string Operation => operation;

        public int Size => size;

        public int? TargetMs => targetMs;

        /// <summary>Render and apply, in-process.</summary>
        public List<double> Product { get; } = [];

        public List<double> Render { get; } = [];

        /// <summary>The same rendered change applied by an `nft -f -` process; empty where not measured.</summary>
        public List<double> Process { get; } = [];

        public List<double> Naive { get; } = [];
    }
}
