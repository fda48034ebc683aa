using System.Diagnostics;
using System.Text.Json;
using Nanobox.Node.Cluster.Consensus;

using Xunit.Abstractions;

namespace Nanobox.Node.Tests.Consensus;

/// <summary>Real three-voter clusters over loopback TCP with mTLS. One class, so clusters do not compete for the two cores.</summary>
[Trait("Category", "Consensus")]
public sealed class ConsensusClusterTests(ITestOutputHelper output)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static AddMemberCommand AddMember(string id) => new(ClusterTransitionsTests.Member(id));

    private static string Json(ClusterState state) => JsonSerializer.Serialize(state, ConsensusJsonContext.Default.ClusterState);

    private static Task Converged(TestCluster cluster, long version) =>
        TestCluster.WaitUntilAsync(() => cluster.Running.All(n => n.Node.State.Version >= version), $"every running replica at version {version}");

    /// <summary>Every node (all running) reaches <paramref name="state"/> and holds exactly that document.</summary>
    private static async Task EveryReplicaHolds(TestCluster cluster, ClusterState state)
    {
        await Converged(cluster, state.Version);
        Assert.All(cluster.Nodes, n => Assert.Equal(Json(state), Json(n.Node.State)));
    }

    [Fact]
    public async Task Three_voters_elect_exactly_one_leader_and_every_replica_applies_a_write()
    {
        await using var cluster = await TestCluster.FormAsync(3, output);
        var leader = await cluster.WaitForLeaderAsync();
        Assert.Equal(3, leader.Node.Voters.Count);

        var state = await leader.Node.ReplicateAsync(AddMember("x1"), None);
        await EveryReplicaHolds(cluster, state);
    }

    [Fact]
    public async Task A_write_sent_to_a_follower_reaches_the_leader_and_refusals_come_back()
    {
        await using var cluster = await TestCluster.FormAsync(3, output);
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Nodes.First(n => n != leader);

        var state = await follower.Node.ReplicateAsync(AddMember("x1"), None);
        Assert.True(state.Members.ContainsKey("x1"));
        await Converged(cluster, state.Version);
        Assert.True(leader.Node.State.Members.ContainsKey("x1"));

        var refusal = await Assert.ThrowsAsync<ClusterCommandRejectedException>(() => follower.Node.ReplicateAsync(AddMember("x1"), None));
        Assert.Contains("already a member", refusal.Message);
    }

    [Fact]
    public async Task When_the_leader_stops_a_new_leader_is_elected_and_a_write_commits()
    {
        await using var cluster = await TestCluster.FormAsync(3, output);
        var leader = await cluster.WaitForLeaderAsync();
        var survivor = cluster.Nodes.First(n => n != leader);

        await leader.StopAsync();
        var clock = Stopwatch.StartNew();
        var state = await survivor.Node.ReplicateAsync(AddMember("x1"), None);
        clock.Stop();
        output.WriteLine($"failover: leader stopped -> write committed in {clock.ElapsedMilliseconds} ms");

        Assert.True(state.Members.ContainsKey("x1"));
        var newLeader = await cluster.WaitForLeaderAsync();
        Assert.NotEqual(leader, newLeader);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"failover took {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task A_minority_refuses_writes_serves_reads_and_converges_after_healing()
    {
        await using var cluster = await TestCluster.FormAsync(3, output);
        var leader = await cluster.WaitForLeaderAsync();
        var before = await leader.Node.ReplicateAsync(AddMember("x1"), None);
        await Converged(cluster, before.Version);

        var isolated = cluster.Nodes.First(n => n != leader);
        var others = cluster.Nodes.Where(n => n != isolated).ToList();
        foreach (var node in others)
            await node.StopAsync();

        var refusal = await Assert.ThrowsAsync<NoQuorumException>(() => isolated.Node.ReplicateAsync(AddMember("x2"), None));
        output.WriteLine(refusal.Message);
        Assert.Contains("(2 of 3 needed)", refusal.Message);
        Assert.Contains("reads serve the last known state", refusal.Message);
        Assert.True(isolated.Node.State.Members.ContainsKey("x1"));
        Assert.False(isolated.Node.State.Members.ContainsKey("x2"));

        foreach (var node in others)
            await node.StartAsync();
        var after = await isolated.Node.ReplicateAsync(AddMember("x2"), None);
        await EveryReplicaHolds(cluster, after);
    }

    [Fact]
    public async Task Stopping_and_restarting_every_node_keeps_the_cluster_and_its_state()
    {
        await using var cluster = await TestCluster.FormAsync(3, output);
        var leader = await cluster.WaitForLeaderAsync();
        ClusterState state = leader.Node.State;
        for (var i = 0; i < 10; i++) // crosses several snapshots (every 4 entries) and leaves a WAL tail
            state = await leader.Node.ReplicateAsync(AddMember($"x{i}"), None);
        await Converged(cluster, state.Version);

        foreach (var node in cluster.Nodes)
            await node.StopAsync();
        foreach (var node in cluster.Nodes)
            await node.StartAsync();

        await cluster.WaitForLeaderAsync();
        await EveryReplicaHolds(cluster, state);
        Assert.All(cluster.Nodes, n => Assert.Equal(3, n.Node.Voters.Count));

        var next = await cluster.Nodes[2].Node.ReplicateAsync(AddMember("after-restart"), None);
        Assert.Equal(state.Version + 1, next.Version);
    }

    [Fact]
    public async Task A_fourth_voter_is_added_and_catches_up()
    {
        await using var cluster = await TestCluster.FormAsync(3, output);
        var leader = await cluster.WaitForLeaderAsync();
        var state = await leader.Node.ReplicateAsync(AddMember("x1"), None);

        var fourth = await cluster.StartNewNodeAsync();
        Assert.True(await leader.Node.AddVoterAsync(fourth.Control, None));
        await Converged(cluster, state.Version);
        Assert.Equal(Json(state), Json(fourth.Node.State));
        await TestCluster.WaitUntilAsync(() => cluster.Nodes.All(n => n.Node.Voters.Count == 4), "every node to see four voters");

        var written = await fourth.Node.ReplicateAsync(AddMember("x2"), None);
        await Converged(cluster, written.Version);
    }

    [Fact]
    public async Task A_peer_with_a_certificate_from_another_CA_is_refused_and_logged()
    {
        await using var cluster = await TestCluster.FormAsync(1, output);
        var leader = await cluster.WaitForLeaderAsync();
        using var rogueCa = new TestPki("rogue CA");
        var rogue = await cluster.StartNewNodeAsync(issuer: rogueCa);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            Assert.False(await leader.Node.AddVoterAsync(rogue.Control, timeout.Token));
        }
        catch (OperationCanceledException)
        {
            // Also a refusal: the rogue never caught up.
        }

        Assert.Single(leader.Node.Voters);
        Assert.Contains(cluster.LogLines, l => l.Contains("Refused the TLS certificate of a Raft", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_non_voter_reads_the_state_from_a_voter_over_the_control_channel()
    {
        await using var cluster = await TestCluster.FormAsync(1, output);
        var voter = await cluster.WaitForLeaderAsync();
        var state = await voter.Node.ReplicateAsync(AddMember("x1"), None);

        var member = new TestTls(cluster.Pki.Ca, cluster.Pki.Issue("x1"));
        var client = new ControlClient(member);
        var peer = new ControlPeer(voter.NodeId, voter.Requests);
        var fetched = await client.FetchStateAsync(peer, sinceVersion: 0, TimeSpan.Zero, None);
        Assert.Equal(Json(state), Json(fetched!));
        Assert.Null(await client.FetchStateAsync(peer, sinceVersion: state.Version, TimeSpan.Zero, None));
    }

    [Fact]
    public async Task A_long_poll_answers_when_a_newer_state_commits_and_unchanged_after_its_wait()
    {
        await using var cluster = await TestCluster.FormAsync(1, output);
        var voter = await cluster.WaitForLeaderAsync();
        var state = await voter.Node.ReplicateAsync(AddMember("x1"), None);
        var client = new ControlClient(new TestTls(cluster.Pki.Ca, cluster.Pki.Issue("x1")));
        var peer = new ControlPeer(voter.NodeId, voter.Requests);

        // Nothing newer: the voter holds the fetch for the wait, then says unchanged.
        Assert.Null(await client.FetchStateAsync(peer, state.Version, TimeSpan.FromMilliseconds(200), None));

        // A commit during the wait ends it with the new state, long before the wait is over.
        var waiting = client.FetchStateAsync(peer, state.Version, TimeSpan.FromMinutes(5), None);
        await Task.Delay(200);
        Assert.False(waiting.IsCompleted, "the fetch should wait for a newer state");
        var newer = await voter.Node.ReplicateAsync(AddMember("x2"), None);
        var fetched = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(newer.Version, fetched!.Version);
    }
}
