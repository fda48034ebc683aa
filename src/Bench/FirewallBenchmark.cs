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
        ClusterPorts.Overlay,
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

        var spawn = await bench.MeasureAsync(runs, () => CommandAsync("true", [], ct));
        var rows = new List<Row>();
        foreach (var size in SetSizes)
        {
            await output.WriteLineAsync($"{size} peers in the set...");
            rows.AddRange(await bench.MeasurePeerChangesAsync(size, runs));
            rows.Add(await bench.MeasureReplacementAsync(size, runs));
        }

        await output.WriteLineAsync($"\nload average at the end: {LoadAverage.Read()}\n");
        await WriteAsync(output, rows, spawn);
        return 0;
    }

    /// <summary>Add then remove one peer per run, each done the three ways in turn so machine noise falls on all alike.</summary>
    private async Task<IEnumerable<Row>> MeasurePeerChangesAsync(int size, int runs)
    {
        var peers = Addresses(size);
        await LoadAsync(peers);
        var product = (Add: new List<double>(), Remove: new List<double>());
        var process = (Add: new List<double>(), Remove: new List<double>());
        var naive = (Add: new List<double>(), Remove: new List<double>());
        for (var run = 0; run < WarmUpRuns + runs; run++)
        {
            // A fresh address each run, outside the pre-loaded range.
            var extra = IPAddress.Parse($"198.19.255.{run + 1}");
            var grown = new PeerAddresses(peers.All.Append(extra));
            var rule = new[] { Chain, "-s", $"{extra}/32", "-j", "ACCEPT" };
            var samples = new[]
            {
                (product.Add, Time(() => _kernel.Run(RulesetRenderer.RenderPeerChange(peers, grown, PeerAddresses.Empty, PeerAddresses.Empty)!))),
                (product.Remove, Time(() => _kernel.Run(RulesetRenderer.RenderPeerChange(grown, peers, PeerAddresses.Empty, PeerAddresses.Empty)!))),
                (process.Add, await TimeAsync(() => NftProcessAsync(RulesetRenderer.RenderPeerChange(peers, grown, PeerAddresses.Empty, PeerAddresses.Empty)!))),
                (process.Remove, await TimeAsync(() => NftProcessAsync(RulesetRenderer.RenderPeerChange(grown, peers, PeerAddresses.Empty, PeerAddresses.Empty)!))),
                (naive.Add, await TimeAsync(() => CommandAsync("iptables", ["-A", .. rule], _ct))),
                (naive.Remove, await TimeAsync(() => CommandAsync("iptables", ["-D", .. rule], _ct))),
            };
            if (run >= WarmUpRuns)
            {
                foreach (var (into, sample) in samples)
                {
                    into.Add(sample);
                }
            }
        }

        await VerifyAsync(peers);
        return
        [
            new("add one peer", size, product.Add, process.Add, naive.Add, size == SetSizes[^1] ? 1 : null),
            new("remove one peer", size, product.Remove, process.Remove, naive.Remove, size == SetSizes[^1] ? 1 : null),
        ];
    }

    /// <summary>The whole ruleset replaced with the same peers in it: the product's full table, the baseline's whole chain.</summary>
    private async Task<Row> MeasureReplacementAsync(int size, int runs)
    {
        var peers = Addresses(size);
        var restore = IptablesRestoreInput(peers);
        var product = new List<double>();
        var naive = new List<double>();
        for (var run = 0; run < WarmUpRuns + runs; run++)
        {
            var productSample = Time(() => _kernel.Run(RulesetRenderer.Render(Design, peers, PeerAddresses.Empty)));
            var naiveSample = await TimeAsync(() => IptablesRestoreAsync(restore));
            if (run >= WarmUpRuns)
            {
                product.Add(productSample);
                naive.Add(naiveSample);
            }
        }

        await VerifyAsync(peers);
        return new("replace the whole ruleset", size, product, null, naive, size == SetSizes[^1] ? 50 : null);
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

    private async Task<List<double>> MeasureAsync(int runs, Func<Task> operation)
    {
        var samples = new List<double>();
        for (var run = 0; run < WarmUpRuns + runs; run++)
        {
            var sample = await TimeAsync(operation);
            if (run >= WarmUpRuns)
            {
                samples.Add(sample);
            }
        }

        return samples;
    }

    private static double Time(Action operation)
    {
        var started = Stopwatch.GetTimestamp();
        operation();
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

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

    private static async Task WriteAsync(TextWriter output, List<Row> rows, List<double> spawn)
    {
        await output.WriteLineAsync("| operation | peers in the set | nanobox: libnftables in-process, median / p90 / max (ms) | naive: iptables, median / p90 / max (ms) | naive / nanobox (median) | nanobox through an `nft -f -` process, median (ms) | target (median) |");
        await output.WriteLineAsync("|---|---:|---:|---:|---:|---:|---|");
        foreach (var row in rows)
        {
            var target = row.TargetMs is { } limit ? $"< {limit} ms: {(Stats.Median(row.Product) < limit ? "PASS" : "MISS")}" : "";
            await output.WriteLineAsync($"| {row.Operation} | {row.Size:N0} | {Summary(row.Product)} | {Summary(row.Naive)} | " +
                $"{Stats.Median(row.Naive) / Stats.Median(row.Product):F0} | {(row.Process is null ? "" : Ms(Stats.Median(row.Process)))} | {target} |");
        }

        await output.WriteLineAsync($"\nn = {rows[0].Product.Count} per cell. Starting an empty process (`true`) from the benchmark: median / p90 / max {Summary(spawn)} ms; " +
            "every iptables and `nft -f` figure includes one such start.");
    }

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

    private sealed record Row(string Operation, int Size, List<double> Product, List<double>? Process, List<double> Naive, int? TargetMs);
}
