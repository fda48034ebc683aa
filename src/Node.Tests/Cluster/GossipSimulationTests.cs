using System.Diagnostics;
using Nanobox.Node.Cluster.Membership;
using Xunit.Abstractions;

namespace Nanobox.Node.Tests.Cluster;

/// <summary>
/// The issue's benchmarks, on the simulated network under virtual time (results in docs/GOSSIP.md):
/// run alone with <c>dotnet test src/Node.Tests --filter "Category=Simulation" --logger "console;verbosity=detailed"</c>.
/// </summary>
[Trait("Category", "Simulation")]
public sealed class GossipSimulationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    /// <param name="tcpFallback">Off, only indirect probes and Lifeguard stand between loss and false suspicions.</param>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Hundred_nodes_with_ten_percent_loss_converge_and_declare_no_one_dead_in_five_minutes(bool tcpFallback)
    {
        const int count = 100;
        var duration = TimeSpan.FromMinutes(5);
        var wall = Stopwatch.StartNew();
        using var cluster = new SimCluster(seed: 100, new MembershipOptions { TcpFallbackProbe = tcpFallback });
        cluster.Network.LossRate = 0.10;
        var first = cluster.Add();
        for (var i = 1; i < count; i++)
        {
            cluster.Join(cluster.Add(), first);
        }

        var converged = cluster.RunUntil(cluster.Converged, 60 * Second, TimeSpan.FromMilliseconds(100));
        cluster.Run(duration - cluster.Clock.Elapsed);

        var events = cluster.Nodes.SelectMany(n => n.Events).ToList();
        var falseDead = events.Count(e => e.Kind == MembershipEventKind.Failed);
        var suspicions = events.Count(e => e.Kind == MembershipEventKind.Suspect);
        var seconds = cluster.Clock.Elapsed.TotalSeconds;
        var bytesPerNode = cluster.Nodes.Average(n => n.List.Counters.BytesSent) / seconds;
        var datagramsPerNode = cluster.Nodes.Average(n => n.List.Counters.DatagramsSent) / seconds;
        output.WriteLine(
            $"{count} nodes, 10% datagram loss, TCP fallback {(tcpFallback ? "on" : "off")}, {seconds:F0} s simulated in {wall.Elapsed.TotalSeconds:F1} s wall: " +
            $"converged after {converged?.TotalMilliseconds:F0} ms; false dead verdicts {falseDead}; suspicions raised {suspicions}; " +
            $"sent per node {bytesPerNode:F0} B/s in {datagramsPerNode:F1} datagrams/s; datagrams lost {cluster.Network.DatagramsDropped}; " +
            $"max health score {cluster.Nodes.Max(n => n.List.HealthScore)}");

        Assert.NotNull(converged);
        Assert.Equal(0, falseDead);
        Assert.All(cluster.Nodes, n => Assert.All(n.List.Members(), m => Assert.True(m.State is MemberState.Alive or MemberState.Suspect)));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    public void Five_node_join_and_kill_detection_times(double loss)
    {
        const int trials = 40;
        var joins = new List<double>();
        var detections = new List<double>();
        var wall = Stopwatch.StartNew();
        for (var trial = 0; trial < trials; trial++)
        {
            using var cluster = SimCluster.Start(4, seed: 1000 + trial);
            cluster.Network.LossRate = loss;
            var random = new Random(trial);
            cluster.Run(2 * Second + (random.NextDouble() * Second));

            var newcomer = cluster.Add();
            cluster.Join(newcomer, cluster.Nodes[random.Next(4)]);
            var joined = cluster.RunUntil(cluster.Converged, 10 * Second, TimeSpan.FromMilliseconds(5));
            Assert.NotNull(joined);
            joins.Add(joined.Value.TotalMilliseconds);

            cluster.Run(2 * Second + (random.NextDouble() * Second));
            var victim = cluster.Nodes[random.Next(5)];
            cluster.Kill(victim);
            var detected = cluster.RunUntil(() => cluster.AllSee(victim, MemberState.Dead), 30 * Second, TimeSpan.FromMilliseconds(5));
            Assert.NotNull(detected);
            detections.Add(detected.Value.TotalMilliseconds);
            Assert.DoesNotContain(cluster.Live.SelectMany(n => n.Events), e => e.Kind == MembershipEventKind.Failed && e.Member.Id != victim.Id);
        }

        output.WriteLine($"5 nodes, {loss:P0} loss, {trials} trials in {wall.Elapsed.TotalSeconds:F1} s wall");
        output.WriteLine($"  join visible on all nodes (ms): {Summary(joins)}");
        output.WriteLine($"  kill -9 to dead on all others (ms): {Summary(detections)}");
        if (loss == 0)
        {
            Assert.True(Percentile(detections, 50) < 2000, $"median detection {Percentile(detections, 50)} ms");
            Assert.True(Percentile(joins, 100) < 1000, $"slowest join {Percentile(joins, 100)} ms");
        }
    }

    private static string Summary(List<double> values) =>
        $"median {Percentile(values, 50):F0}, p90 {Percentile(values, 90):F0}, min {values.Min():F0}, max {values.Max():F0}";

    private static double Percentile(List<double> values, int percentile)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1)];
    }
}
