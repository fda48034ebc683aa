using System.Collections.Immutable;
using System.Net;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Cluster.Membership;
using Nanobox.Node.Firewall;

namespace Nanobox.Node.Tests.Firewall;

public sealed class FirewallPeersTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Grace = TimeSpan.FromMinutes(5);

    private static ClusterState State(params string[] ids) => ClusterState.Empty with
    {
        Members = ids.ToImmutableSortedDictionary(
            id => id,
            id => new ClusterMember(id, id, [$"198.18.0.{id[1..]}"], MemberRole.Member, Now, $"198.18.0.{id[1..]}:7947"),
            StringComparer.Ordinal),
    };

    private static Dictionary<string, GossipSighting> Gossip(params (string Id, MemberState State, TimeSpan Ago)[] sightings) =>
        sightings.ToDictionary(s => s.Id, s => new GossipSighting(s.State, Now - s.Ago, [IPAddress.Parse($"fd00:6e62::{s.Id[1..]}")]));

    [Fact]
    public void Every_member_but_this_node_is_a_peer_with_the_addresses_it_gossips()
    {
        var admitted = FirewallPeers.Admit(State("n1", "n2", "n3"), "n1", Gossip(("n2", MemberState.Alive, TimeSpan.Zero)), Now, Grace);

        Assert.Equal(["n2", "n3"], admitted.Keys);
        Assert.Equal(["198.18.0.2", "fd00:6e62::2"], admitted["n2"].Select(a => a.ToString()));
        Assert.Equal(["198.18.0.3"], admitted["n3"].Select(a => a.ToString()));
    }

    [Fact]
    public void A_dead_member_keeps_its_hole_for_the_grace_time_a_departed_one_does_not()
    {
        var gossip = Gossip(("n2", MemberState.Dead, Grace - TimeSpan.FromSeconds(1)), ("n3", MemberState.Dead, Grace + TimeSpan.FromSeconds(1)), ("n4", MemberState.Left, TimeSpan.Zero), ("n5", MemberState.Suspect, Grace * 2));

        var admitted = FirewallPeers.Admit(State("n1", "n2", "n3", "n4", "n5"), "n1", gossip, Now, Grace);

        Assert.Equal(["n2", "n5"], admitted.Keys);
    }

    [Fact]
    public void A_node_gossip_knows_but_the_state_does_not_list_is_never_a_peer_nor_a_revoked_one()
    {
        var state = State("n1", "n2") with
        {
            Revocations = ImmutableSortedDictionary<string, Revocation>.Empty.WithComparers(StringComparer.Ordinal).Add("n2", new Revocation("n2", [], Now, null)),
        };

        var admitted = FirewallPeers.Admit(state, "n1", Gossip(("n2", MemberState.Alive, TimeSpan.Zero), ("n9", MemberState.Alive, TimeSpan.Zero)), Now, Grace);

        Assert.Empty(admitted);
    }
}
