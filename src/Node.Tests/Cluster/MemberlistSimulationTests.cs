using Nanobox.Node.Cluster.Membership;
using Nanobox.Node.Security;

namespace Nanobox.Node.Tests.Cluster;

/// <summary>The engine's behaviour on a simulated network under virtual time: each test runs seconds to minutes of protocol time.</summary>
public sealed class MemberlistSimulationTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Fact]
    public void Five_nodes_converge_within_a_second()
    {
        using var cluster = SimCluster.Start(5, seed: 1);

        var took = cluster.RunUntil(cluster.Converged, 5 * Second);

        Assert.NotNull(took);
        Assert.True(took < Second, $"converged after {took}");
        Assert.All(cluster.Nodes, n => Assert.Equal(5, n.List.Members().Count));
    }

    [Fact]
    public void A_killed_node_is_suspected_then_declared_dead_by_all_others()
    {
        using var cluster = SimCluster.Start(5, seed: 2);
        cluster.Run(5 * Second);
        var victim = cluster.Nodes[3];

        cluster.Kill(victim);
        var took = cluster.RunUntil(() => cluster.AllSee(victim, MemberState.Dead), 10 * Second);

        Assert.NotNull(took);
        Assert.True(took < 4 * Second, $"declared dead everywhere after {took}");
        var survivors = cluster.Live.ToList();
        Assert.Contains(survivors, n => n.EventsAbout(victim).Any(e => e.Kind == MembershipEventKind.Suspect));
        Assert.All(survivors, n =>
        {
            var kinds = n.EventsAbout(victim).Select(e => e.Kind).ToList();
            Assert.Equal(MembershipEventKind.Failed, kinds[^1]);
            Assert.DoesNotContain(MembershipEventKind.Left, kinds);
        });
    }

    [Fact]
    public void A_falsely_suspected_node_refutes_and_stays_alive()
    {
        using var cluster = SimCluster.Start(5, seed: 3);
        cluster.Run(3 * Second);
        var accused = cluster.Nodes[2];
        var before = accused.List.Incarnation;

        // Node 0 (wrongly) tells node 4 that node 2 is suspect.
        Inject(cluster, from: cluster.Nodes[0], to: cluster.Nodes[4], new SuspectMessage(accused.Id, before, cluster.Nodes[0].Id));
        cluster.Run(TimeSpan.FromMilliseconds(5));
        Assert.Equal(MemberState.Suspect, cluster.Nodes[4].StateOf(accused));
        cluster.Run(10 * Second);

        Assert.True(accused.List.Incarnation > before);
        Assert.True(cluster.AllSee(accused, MemberState.Alive));
        Assert.All(cluster.Nodes, n => Assert.DoesNotContain(n.EventsAbout(accused), e => e.Kind == MembershipEventKind.Failed));
        Assert.Contains(cluster.Nodes[4].EventsAbout(accused), e => e.Kind == MembershipEventKind.AliveAgain);
    }

    [Fact]
    public void A_partition_splits_the_cluster_and_healing_rejoins_it()
    {
        using var cluster = SimCluster.Start(5, seed: 4);
        cluster.Run(3 * Second);
        var left = cluster.Nodes.Take(3).ToList();
        var right = cluster.Nodes.Skip(3).ToList();

        cluster.Network.Partition(left.Select(n => n.Endpoint.Address), right.Select(n => n.Endpoint.Address));
        var split = cluster.RunUntil(
            () => left.All(l => right.All(r => l.StateOf(r) == MemberState.Dead && r.StateOf(l) == MemberState.Dead)),
            20 * Second);
        Assert.NotNull(split);

        cluster.Network.Heal();
        var healed = cluster.RunUntil(cluster.Converged, 60 * Second);

        Assert.NotNull(healed);
        Assert.Contains(left[0].EventsAbout(right[0]), e => e.Kind == MembershipEventKind.AliveAgain);
    }

    [Fact]
    public void A_graceful_leave_is_recorded_as_left_not_dead()
    {
        using var cluster = SimCluster.Start(5, seed: 5);
        cluster.Run(3 * Second);
        var leaver = cluster.Nodes[1];

        var leave = leaver.List.LeaveAsync(5 * Second, CancellationToken.None);
        Assert.NotNull(cluster.RunUntil(() => leave.IsCompleted, 6 * Second));
        leaver.Stop();
        cluster.Network.Kill(leaver.Endpoint.Address);
        cluster.Run(10 * Second);

        Assert.True(cluster.AllSee(leaver, MemberState.Left));
        Assert.All(cluster.Live, n => Assert.DoesNotContain(n.EventsAbout(leaver), e => e.Kind == MembershipEventKind.Failed));
    }

    [Fact]
    public void A_finished_leave_resumes_its_caller_without_the_memberlist_lock()
    {
        // The leave's waiter is completed when its message is replaced, which happens under the memberlist's
        // lock: a caller resumed inline would run its own code (and take its own locks) while holding it.
        using var cluster = SimCluster.Start(3, seed: 10);
        cluster.Run(3 * Second);
        var leaver = cluster.Nodes[1];
        var leave = leaver.List.LeaveAsync(5 * Second, CancellationToken.None);
        var othersCouldRead = leave.ContinueWith(
            _ => Task.Run(() => leaver.List.Members()).Wait(TimeSpan.FromSeconds(2)),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

        // A stale accusation makes the leaver gossip its leave again, replacing the queued one.
        Inject(cluster, cluster.Nodes[0], leaver, new SuspectMessage(leaver.Id, 0, cluster.Nodes[0].Id));

        Assert.True(SimCluster.Settle(othersCouldRead), "the leave's caller resumed while the memberlist's lock was held");
    }

    [Fact]
    public void A_restart_with_a_new_address_and_higher_incarnation_replaces_the_old_address()
    {
        using var cluster = SimCluster.Start(5, seed: 6);
        cluster.Run(3 * Second);
        var old = cluster.Nodes[4];
        var persisted = old.List.Incarnation;

        cluster.Kill(old);
        var restarted = cluster.Add(old.Id, persisted + 1);
        cluster.Join(restarted, cluster.Nodes[0]);
        var took = cluster.RunUntil(
            () => cluster.Live.All(n => n.List.Find(old.Id) is { State: MemberState.Alive } m && m.GossipEndpoint.Equals(restarted.Endpoint)),
            5 * Second);
        cluster.Run(10 * Second);

        Assert.NotNull(took);
        Assert.True(took < Second, $"new address seen everywhere after {took}");
        Assert.All(cluster.Live.Where(n => n != restarted), n =>
        {
            var member = n.List.Find(old.Id)!;
            Assert.Equal(MemberState.Alive, member.State);
            Assert.Equal(restarted.Endpoint, member.GossipEndpoint);
            Assert.Contains(n.EventsAbout(restarted), e => e.Kind == MembershipEventKind.Updated && e.Member.GossipEndpoint.Equals(restarted.Endpoint));
            Assert.DoesNotContain(n.EventsAbout(restarted), e => e.Kind == MembershipEventKind.Failed);
        });
        Assert.Equal(5, cluster.Nodes[0].List.Members().Count);
    }

    [Fact]
    public void A_restart_that_lost_its_incarnation_outranks_the_stale_one_by_refuting()
    {
        using var cluster = SimCluster.Start(3, seed: 7);
        cluster.Run(2 * Second);
        var old = cluster.Nodes[2];
        Inject(cluster, cluster.Nodes[0], old, new SuspectMessage(old.Id, old.List.Incarnation, cluster.Nodes[0].Id));
        cluster.Run(2 * Second);
        var known = cluster.Nodes[0].List.Find(old.Id)!.Incarnation;
        Assert.True(known > 1);

        cluster.Kill(old);
        var restarted = cluster.Add(old.Id, incarnation: 1);
        cluster.Join(restarted, cluster.Nodes[0]);
        var took = cluster.RunUntil(
            () => cluster.Live.All(n => n.List.Find(old.Id) is { State: MemberState.Alive } m && m.GossipEndpoint.Equals(restarted.Endpoint)),
            5 * Second);

        Assert.NotNull(took);
        Assert.True(restarted.List.Incarnation > known);
    }

    [Fact]
    public void A_new_node_joins_through_one_seed_and_is_seen_by_all_within_a_second()
    {
        using var cluster = SimCluster.Start(5, seed: 8);
        cluster.Run(2 * Second);

        var newcomer = cluster.Add();
        cluster.Join(newcomer, cluster.Nodes[2]);
        var took = cluster.RunUntil(cluster.Converged, 5 * Second);

        Assert.NotNull(took);
        Assert.True(took < Second, $"join visible everywhere after {took}");
        Assert.All(cluster.Nodes.Take(5), n => Assert.Contains(n.EventsAbout(newcomer), e => e.Kind == MembershipEventKind.Joined));
    }

    [Fact]
    public void A_join_asks_every_seed_at_once_and_is_done_at_the_first_answer()
    {
        using var cluster = SimCluster.Start(2, seed: 11);
        cluster.Run(Second);
        var silent = cluster.Nodes[0];
        var answering = cluster.Nodes[1];
        // Connections to the silent seed hang until the stream timeout, as to a host whose firewall drops the SYN.
        cluster.Network.Partition([silent.Endpoint.Address]);
        var newcomer = cluster.Add();

        var join = newcomer.List.JoinAsync([silent.Endpoint, answering.Endpoint], CancellationToken.None);

        // No virtual time passes, so the silent seed's exchange cannot time out: only the answer can end the join.
        Assert.Equal(1, SimCluster.Settle(join));
        Assert.Equal(MemberState.Alive, newcomer.StateOf(answering));
    }

    [Fact]
    public void A_join_that_no_seed_answers_reports_none_reached_after_the_stream_timeout()
    {
        using var cluster = SimCluster.Start(2, seed: 12);
        cluster.Run(Second);
        var seeds = cluster.Nodes.Select(n => n.Endpoint).ToList();
        cluster.Network.Partition(seeds.Select(s => s.Address));
        var newcomer = cluster.Add();

        var join = newcomer.List.JoinAsync(seeds, CancellationToken.None);
        cluster.Run(cluster.Options.StreamTimeout - TimeSpan.FromMilliseconds(1));
        Assert.False(join.IsCompleted, "the join waits for the seeds until the stream timeout");
        cluster.Run(TimeSpan.FromMilliseconds(1));

        Assert.Equal(0, SimCluster.Settle(join));
        Assert.Equal(newcomer.Id, Assert.Single(newcomer.List.Members()).Id);
    }

    [Fact]
    public void Forged_replayed_truncated_and_garbled_datagrams_are_dropped_and_counted()
    {
        using var cluster = SimCluster.Start(3, seed: 9);
        cluster.Run(Second);
        var target = cluster.Nodes[1];
        var receiver = (IGossipReceiver)target.List;
        var from = cluster.Nodes[0].Endpoint;

        receiver.OnDatagram(from, []);
        receiver.OnDatagram(from, [MarkerProtector.Replay, 1, 2, 3]);
        receiver.OnDatagram(from, [0x77, 1, 2, 3]);
        receiver.OnDatagram(from, [MarkerProtector.Good, (byte)MessageType.Ping, 0, 0]);
        receiver.OnDatagram(from, [MarkerProtector.Good, 0xEE]);
        receiver.OnDatagram(from, [MarkerProtector.Good, (byte)MessageType.Compound, 1, 0, 1, (byte)MessageType.Compound]);

        var counters = target.List.Counters;
        Assert.Equal(1, counters.Dropped(DatagramVerdict.Truncated));
        Assert.Equal(1, counters.Dropped(DatagramVerdict.Replayed));
        Assert.Equal(1, counters.Dropped(DatagramVerdict.Forged));
        Assert.Equal(1, counters.Dropped(GossipDecodeError.Truncated));
        Assert.Equal(1, counters.Dropped(GossipDecodeError.UnknownType));
        Assert.Equal(1, counters.Dropped(GossipDecodeError.Misplaced));
        Assert.Equal(6, counters.TotalDropped);
        Assert.Equal(6, counters.DropsByReason().Values.Sum());
        cluster.Run(3 * Second);
        Assert.True(cluster.Converged());
    }

    [Fact]
    public void Metadata_updates_reach_every_member_as_updated_events()
    {
        using var cluster = SimCluster.Start(4, seed: 10);
        cluster.Run(2 * Second);
        var node = cluster.Nodes[0];
        var meta = node.List.Find(node.Id)!.Meta with { Labels = new Dictionary<string, string> { ["zone"] = "b" } };

        node.List.UpdateMeta(meta);
        cluster.Run(2 * Second);

        Assert.All(cluster.Nodes.Skip(1), n => Assert.Equal("b", n.List.Find(node.Id)!.Meta.Labels["zone"]));
        Assert.All(cluster.Nodes.Skip(1), n => Assert.Contains(n.EventsAbout(node), e => e.Kind == MembershipEventKind.Updated));
    }

    private static void Inject(SimCluster cluster, SimNode from, SimNode to, GossipMessage message)
    {
        var payload = GossipCodec.Encode(message);
        var datagram = new byte[payload.Length + 1];
        new MarkerProtector().Seal(payload, datagram);
        ((IGossipReceiver)to.List).OnDatagram(from.Endpoint, datagram);
    }
}
