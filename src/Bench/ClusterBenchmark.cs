using System.Diagnostics;

namespace Nanobox.Bench;

using Nanobox.Lab;

/// <summary>
/// The cluster's numbers, measured in the lab on real processes (one published nanobox per network
/// namespace, real UDP/TCP between them): kill -9 to dead everywhere, join visibility, leader failover to
/// a committed write, and gossip bytes per node. Everything is observed through the CLI, as an operator
/// would (see <see cref="MemberPoller"/> for what that adds).
/// </summary>
public sealed class ClusterBenchmark
{
    private const int ClusterSize = 5;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan IdleWindow = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);

    /// <summary>A port only peers reach (control connections): the firewall lets the joiner through or cuts it here.</summary>
    private const int PeerOnlyPort = 7947;

    /// <summary>Time for the reach watcher's process to start probing before the operation it times begins.</summary>
    private static readonly TimeSpan WatcherStart = TimeSpan.FromSeconds(2);

    private readonly Lab _lab;
    private readonly TextWriter _output;
    private readonly MemberPoller _poller = new(PollInterval, concurrentCalls: 2);
    private readonly List<LabHost> _members;

    private ClusterBenchmark(Lab lab, TextWriter output)
    {
        _lab = lab;
        _output = output;
        _members = lab.Hosts.Take(ClusterSize).ToList();
    }

    private LabHost[] Cluster => _lab.Hosts.Take(ClusterSize).ToArray();

    /// <summary>A lab of 5 + <paramref name="runs"/> hosts: 5 form the cluster, each of the others joins once.</summary>
    public static async Task<int> RunAsync(int runs, TextWriter output, CancellationToken ct)
    {
        await output.WriteLineAsync($"starting a lab of {ClusterSize + runs} hosts (load average {LoadAverage.Read()})...");
        await using var lab = await Lab.StartAsync(new LabOptions { Hosts = ClusterSize + runs }, ct);
        var bench = new ClusterBenchmark(lab, output);
        await ClusterProbe.FormAsync(bench.Cluster, ct);
        await output.WriteLineAsync($"lab {lab.Id}: cluster of {ClusterSize} formed; polling every {PollInterval.TotalMilliseconds:0} ms");

        var traffic = await bench.MeasureIdleTrafficAsync(ct);
        var detection = await bench.MeasureDetectionAsync(runs, ct);
        var failover = await bench.MeasureFailoverAsync(runs, ct);
        var joins = await bench.MeasureJoinsAsync(ct);
        var removals = await bench.MeasureRemovalsAsync(ct);

        var memberlist = "4 s suspicion + up to 1 s probe interval: ≈ 5 s";
        var table = new ResultTable();
        table.Add($"kill -9 of a non-leader → `dead` on all {ClusterSize - 1} survivors (ms)", detection.All, "median < 2000", memberlist);
        table.Add("kill -9 of a non-leader → `dead` on the first survivor (ms)", detection.First, "", memberlist);
        table.Add("`cluster join` command, start to exit (ms)", joins.Command, "", "");
        table.Add("`cluster join` start → new node `alive` on every member (ms)", joins.Visible, "< 1000", "");
        table.Add($"`cluster join` start → joiner let through to TCP {PeerOnlyPort} by every member's firewall (ms)", joins.LetThrough, "< 1000", "");
        table.Add("`cluster join` exit → the same (ms; negative: before the command returned)", joins.LetThroughAfterExit, "", "");
        table.Add("kill -9 of the leader → first committed write (ms)", failover, "< 1500", "no consensus in memberlist");
        table.Add("`cluster remove` start → revoked on every other member (ms)", removals.Revoked, "< 1000", "");
        table.Add($"`cluster remove` start → removed node cut from TCP {PeerOnlyPort} by every member's firewall (ms)", removals.Cut, "< 1000", "");
        table.Add($"gossip bytes/s sent per node, port 7946 ({ClusterSize} nodes, {IdleWindow.TotalSeconds:0} s idle; n = nodes)", traffic.Gossip, "", "");
        table.Add("all bytes/s sent per node on eth0 (gossip + Raft + control; same window)", traffic.Eth0, "", "");
        table.Add("one `members --json` call through the CLI (ms)", [.. bench._poller.CallMilliseconds], "", "");
        table.Add("real poll period per host (ms)", [.. bench._poller.PeriodMilliseconds], "", "");
        await output.WriteLineAsync($"\nload average at the end: {LoadAverage.Read()}\n");
        await table.WriteAsync(output);
        return 0;
    }

    private async Task<(List<double> Gossip, List<double> Eth0)> MeasureIdleTrafficAsync(CancellationToken ct)
    {
        await ClusterProbe.ConvergeAsync(Cluster, ClusterSize, ClusterSize, ct: ct);
        await _output.WriteLineAsync($"gossip traffic: {IdleWindow.TotalSeconds:0} s idle window, nothing else running in the lab...");
        await using var meter = await GossipTrafficMeter.InstallAsync(Cluster, ct);
        var before = await meter.ReadAsync(ct);
        var clock = Stopwatch.StartNew();
        await Task.Delay(IdleWindow, ct);
        var after = await meter.ReadAsync(ct);
        var seconds = clock.Elapsed.TotalSeconds;
        return (
            before.Zip(after, (b, a) => (a.Gossip - b.Gossip) / seconds).ToList(),
            before.Zip(after, (b, a) => (a.Eth0 - b.Eth0) / seconds).ToList());
    }

    private async Task<(List<double> All, List<double> First)> MeasureDetectionAsync(int runs, CancellationToken ct)
    {
        var (all, first) = (new List<double>(), new List<double>());
        for (var run = 0; run < runs; run++)
        {
            var leader = ClusterProbe.LeaderHost(Cluster, await ClusterProbe.ConvergeAsync(Cluster, ClusterSize, ClusterSize, ct: ct));
            var victims = Cluster.Where(h => h != leader).ToArray();
            var victim = victims[run % victims.Length];
            var start = Stopwatch.GetTimestamp();
            await victim.Node.KillAsync(ct);
            var seen = await _poller.UntilEachAsync(Cluster.Where(h => h != victim), start,
                members => members.Any(m => m.Name == victim.Name && m.IsDead), WaitLimit, ct);
            all.Add(seen.Max().TotalMilliseconds);
            first.Add(seen.Min().TotalMilliseconds);
            await _output.WriteLineAsync($"detection {run + 1}/{runs}: killed {victim.Name}; dead on all survivors after {all[^1]:0} ms (first {first[^1]:0} ms)");
            await RestartAsync(victim, ct);
        }

        return (all, first);
    }

    private async Task<List<double>> MeasureFailoverAsync(int runs, CancellationToken ct)
    {
        var samples = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            var leader = ClusterProbe.LeaderHost(Cluster, await ClusterProbe.ConvergeAsync(Cluster, ClusterSize, ClusterSize, ct: ct));
            var writer = Cluster.First(h => h != leader);
            var start = Stopwatch.GetTimestamp();
            await leader.Node.KillAsync(ct);
            await ClusterProbe.CommitWriteAsync(writer, PollInterval, WaitLimit, ct);
            samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            await _output.WriteLineAsync($"failover {run + 1}/{runs}: killed leader {leader.Name}; a write through {writer.Name} committed after {samples[^1]:0} ms");
            await RestartAsync(leader, ct);
        }

        return samples;
    }

    /// <summary>
    /// Each host beyond the cluster joins through h1 (as `cluster init` tells an operator to), one at a time.
    /// Meanwhile the joiner connects to every member's peer-only port until each lets it through.
    /// </summary>
    private async Task<(List<double> Command, List<double> Visible, List<double> LetThrough, List<double> LetThroughAfterExit)> MeasureJoinsAsync(CancellationToken ct)
    {
        var (command, visible, letThrough, afterExit) = (new List<double>(), new List<double>(), new List<double>(), new List<double>());
        var seed = _lab.Hosts[0];
        var token = await ClusterProbe.TokenAsync(seed, ct);
        foreach (var joiner in _lab.Hosts.Skip(ClusterSize))
        {
            bool Listed(IReadOnlyList<ClusterMember> rows) => rows.Any(m => m.Name == joiner.Name && m.IsAlive);
            var holes = await StartReachWatchAsync(joiner, _members, ReachGoal.Open, ct);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var started = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var start = Stopwatch.GetTimestamp();
            var others = _poller.UntilEachAsync(_members, start, Listed, WaitLimit, stop.Token);
            try
            {
                (await ClusterProbe.JoinAsync(joiner, seed, token, ct)).EnsureSuccess();
                var exited = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                command.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                var self = await _poller.UntilAsync(joiner, start, Listed, WaitLimit, ct);
                visible.Add((await others).Append(self).Max().TotalMilliseconds);
                var allThrough = LatestSighting(await holes, joiner, "let through");
                letThrough.Add(allThrough - started);
                afterExit.Add(allThrough - exited);
            }
            finally
            {
                await stop.CancelAsync();
            }

            _members.Add(joiner);
            await _output.WriteLineAsync($"join {visible.Count}: {joiner.Name} joined a cluster of {_members.Count - 1}; command {command[^1]:0} ms, " +
                $"alive on all {_members.Count} after {visible[^1]:0} ms, let through by every member after {letThrough[^1]:0} ms ({afterExit[^1]:0} ms after the command exited)");
            await ClusterProbe.ConvergeAsync(_members, _members.Count, ClusterProbe.ExpectedVoters(_members.Count), ct: ct);
            await Task.Delay(Settle, ct);
        }

        return (command, visible, letThrough, afterExit);
    }

    /// <summary>Starts watching, from <paramref name="from"/>, every member's peer-only port for <paramref name="goal"/>, and gives the watcher time to start probing.</summary>
    private static async Task<Task<ReachSighting[]>> StartReachWatchAsync(LabHost from, IEnumerable<LabHost> members, ReachGoal goal, CancellationToken ct)
    {
        var watch = from.WatchReachAsync(members.Where(m => m != from).Select(m => m.Address).ToArray(), PeerOnlyPort, goal, WaitLimit, ct);
        await Task.Delay(WatcherStart, ct);
        return watch;
    }

    /// <summary>Wall-clock Unix ms at which the last member was seen reaching the goal; throws naming a member that never did.</summary>
    private static long LatestSighting(ReachSighting[] sightings, LabHost from, string what) =>
        sightings.FirstOrDefault(s => s.AtUnixMs is null) is { } missing
            ? throw new InvalidOperationException($"{missing.Target} never {what} {from.Name} within {WaitLimit.TotalSeconds:0} s")
            : sightings.Max(s => s.AtUnixMs!.Value);

    /// <summary>
    /// Removes the joined nodes one by one: time from `cluster remove` until no other member lists the
    /// node. A member stops listing it when the removal, which carries the revocation, is in its state,
    /// and from then on its mutual TLS refuses the node's certificate.
    /// </summary>
    private async Task<(List<double> Revoked, List<double> Cut)> MeasureRemovalsAsync(CancellationToken ct)
    {
        var (revoked, cut) = (new List<double>(), new List<double>());
        var seed = _lab.Hosts[0];
        foreach (var removed in _lab.Hosts.Skip(ClusterSize))
        {
            _members.Remove(removed);
            bool Gone(IReadOnlyList<ClusterMember> rows) => rows.All(m => m.Name != removed.Name);
            var cuts = await StartReachWatchAsync(removed, _members, ReachGoal.Blocked, ct);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var started = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var start = Stopwatch.GetTimestamp();
            var others = _poller.UntilEachAsync(_members, start, Gone, WaitLimit, stop.Token);
            try
            {
                (await seed.NanoboxAsync(["cluster", "remove", removed.Name], null, ct)).EnsureSuccess();
                revoked.Add((await others).Max().TotalMilliseconds);
                cut.Add(LatestSighting(await cuts, removed, "cut") - started);
            }
            finally
            {
                await stop.CancelAsync();
            }

            await _output.WriteLineAsync($"removal {revoked.Count}: {removed.Name} revoked on all {_members.Count} others after {revoked[^1]:0} ms, cut by every member's firewall after {cut[^1]:0} ms");
            await Task.Delay(Settle, ct);
        }

        return (revoked, cut);
    }

    /// <summary>Starts a killed node again and waits until the whole cluster agrees, then lets it settle.</summary>
    private async Task RestartAsync(LabHost host, CancellationToken ct)
    {
        await host.Node.StartAsync(ct: ct);
        await host.Node.WaitReadyAsync(ct: ct);
        await ClusterProbe.ConvergeAsync(Cluster, ClusterSize, ClusterSize, ct: ct);
        await Task.Delay(Settle, ct);
    }
}
