using System.Collections.Immutable;
using System.Net;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Overlay;
using Nanobox.Node.Overlay.Netlink;
using static Nanobox.Node.Tests.Overlay.KernelRig;

namespace Nanobox.Node.Tests.Overlay;

/// <summary>The overlay's pure logic: settings and leases, block addressing, the design and the reconcile diff.</summary>
public sealed class OverlayDesignTests
{
    private static readonly NetDevice Eth0 = new(2, "eth0");

    [Theory]
    [InlineData("10.0.0.0/24", "between /8 and /23")]
    [InlineData("10.0.0.0/7", "between /8 and /23")]
    [InlineData("10.0.0.1/16", "not an IPv4 network")]
    [InlineData("fd00::/64", "not an IPv4 network")]
    [InlineData("banana", "not an IPv4 network")]
    public void Bad_subnets_are_refused_with_the_fix(string subnet, string message) =>
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => OverlayNetwork.Create(subnet, 1, 4789)).Message);

    [Theory]
    [InlineData(0u, 4789, "VNI 0")]
    [InlineData(1u << 24, 4789, "VNI 16777216")]
    [InlineData(1u, 0, "not a UDP port")]
    [InlineData(1u, 65536, "not a UDP port")]
    public void Bad_vnis_and_ports_are_refused(uint vni, int port, string message) =>
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => OverlayNetwork.Create(OverlayNetwork.DefaultSubnet, vni, port)).Message);

    [Fact]
    public void Leases_take_the_lowest_free_block_once_and_removed_members_free_theirs()
    {
        var network = OverlayNetwork.Create("10.20.0.0/22", 7, 8472);
        Assert.Equal(4, network.BlockCount);

        var leased = network.WithLease("a").WithLease("b").WithLease("a").WithLease("c");
        Assert.Equal(new Dictionary<string, int> { ["a"] = 1, ["b"] = 2, ["c"] = 3 }, leased.Leases);
        Assert.Contains("every one of the 3 blocks", Assert.Throws<OverlayFullException>(() => leased.WithLease("d")).Message);

        var afterRemoval = leased.WithoutLeasesOutside(["a", "c"]);
        Assert.Equal(["a", "c"], afterRemoval.Leases.Keys);
        Assert.Equal(2, afterRemoval.WithLease("d").Leases["d"]);
        Assert.Same(afterRemoval, afterRemoval.WithoutLeasesOutside(["a", "c", "x"]));
    }

    [Fact]
    public void The_section_round_trips_through_the_replicated_state_with_compare_and_set()
    {
        var network = OverlayNetwork.Create(OverlayNetwork.DefaultSubnet, 4242, 4789).WithLease("node-a");
        var command = network.Put(expectedRevision: 0);
        var state = ClusterTransitions.Apply(Bootstrapped(), command);

        var (read, revision) = OverlayNetwork.Of(state)!.Value;
        Assert.Equal(network, read);
        Assert.Equal(1, revision);
        Assert.Throws<ClusterCommandRejectedException>(() => ClusterTransitions.Apply(state, network.WithLease("node-b").Put(expectedRevision: 0)));
        Assert.Null(OverlayNetwork.Of(Bootstrapped()));
    }

    private static ClusterState Bootstrapped() => ClusterState.Empty with { ClusterId = "c1", Version = 1 };

    [Fact]
    public void A_block_has_the_host_at_1_containers_from_2_and_macs_derived_from_addresses()
    {
        var block = OverlayBlock.Of(IPNetwork.Parse("100.88.0.0/16"), 3);
        Assert.Equal("100.88.3.0/24", block.Network.ToString());
        Assert.Equal(Ip("100.88.3.1"), block.HostAddress);
        Assert.Equal(Ip("100.88.3.254"), block.Address(OverlayBlock.LastContainerNumber));
        Assert.Equal(10, block.NumberOf(Ip("100.88.3.10")));
        Assert.Null(block.NumberOf(Ip("100.88.3.0")));
        Assert.Null(block.NumberOf(Ip("100.88.3.255")));
        Assert.Null(block.NumberOf(Ip("100.88.4.10")));
        Assert.Equal(Mac("02:42:64:58:03:0a"), OverlayBlock.MacFor(Ip("100.88.3.10")));
        Assert.Throws<ArgumentOutOfRangeException>(() => OverlayBlock.Of(IPNetwork.Parse("100.88.0.0/16"), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => OverlayBlock.Of(IPNetwork.Parse("100.88.0.0/16"), 256));
    }

    [Fact]
    public void Endpoints_travel_as_a_bitmap_of_the_block_and_anything_else_announces_nothing()
    {
        var block = OverlayBlock.Of(IPNetwork.Parse("100.88.0.0/16"), 1);
        var bitmap = block.EncodeEndpoints([Ip("100.88.1.1"), Ip("100.88.1.200"), Ip("100.88.2.5"), Ip("100.88.1.255")]);

        Assert.Equal(OverlayBlock.EndpointBitmapLength, bitmap.Length);
        Assert.Equal([Ip("100.88.1.1"), Ip("100.88.1.200")], block.DecodeEndpoints(bitmap));
        Assert.Empty(block.DecodeEndpoints(new byte[31]));
        var all = Enumerable.Repeat((byte)0xff, OverlayBlock.EndpointBitmapLength).ToArray();
        Assert.Equal(254, block.DecodeEndpoints(all).Count); // bits 0 and 255 are ignored
    }

    [Fact]
    public void The_design_subtracts_the_encapsulation_and_keeps_peers_of_the_underlay_family_only()
    {
        var network = OverlayNetwork.Create(OverlayNetwork.DefaultSubnet, 4242, 4789).WithLease("a");
        var block = network.BlockOf("a")!;
        OverlayPeer[] peers = [new("c", Ip("198.18.0.3"), null), new("b", Ip("198.18.0.2"), []), new("v6", Ip("fd00::2"), []), new("me", Ip("198.18.0.1"), [])];

        var v4 = OverlayDesign.Render(network, block, Ip("198.18.0.1"), Eth0, 1500, peers);
        Assert.Equal(1450, v4.Mtu);
        Assert.Equal(["b", "c"], v4.Peers.Select(p => p.NodeId));
        Assert.Equal("100.88.1.1/16", v4.HostAddress.ToString());
        Assert.False(v4.Vxlan.UdpChecksum);
        Assert.False(v4.Vxlan.Learning);
        Assert.False(v4.Vxlan.Proxy);

        var v6 = OverlayDesign.Render(network, block, Ip("fd00::1"), Eth0, 9000, peers);
        Assert.Equal(8930, v6.Mtu);
        Assert.Equal(["v6"], v6.Peers.Select(p => p.NodeId));
        Assert.True(v6.Vxlan.UdpChecksum);
    }

    private static OverlayDesign Design(params OverlayPeer[] peers)
    {
        var network = OverlayNetwork.Create(OverlayNetwork.DefaultSubnet, 4242, 4789).WithLease("a");
        return OverlayDesign.Render(network, network.BlockOf("a")!, Ip("198.18.0.1"), Eth0, 1500, peers);
    }

    private static OverlayPeer Peer(string vtep, params string[] endpoints) => new(vtep, Ip(vtep), [.. endpoints.Select(Ip)]);

    private static OverlayEntries Apply(OverlayEntries entries, OverlayChanges changes)
    {
        var fdb = entries.Fdb.ToList();
        fdb.AddRange(changes.FloodAdd.Select(v => new FdbEntry(FdbEntry.AllZeroMac, v)));
        fdb.RemoveAll(e => changes.FloodRemove.Any(v => e.Mac.Equals(FdbEntry.AllZeroMac) && v.Equals(e.Destination)));
        fdb.RemoveAll(e => changes.FdbSet.Any(s => s.Mac.Equals(e.Mac)) || changes.FdbRemove.Contains(e));
        fdb.AddRange(changes.FdbSet);
        var bridge = entries.BridgeEntries.Except(changes.BridgeRemove).Concat(changes.BridgeAdd).ToList();
        var neighbours = entries.Neighbours.Where(n => !changes.NeighbourRemove.Contains(n.Address) && !changes.NeighbourSet.Any(s => s.Address.Equals(n.Address))).ToList();
        neighbours.AddRange(changes.NeighbourSet.Select(s => new Neighbour(s.Address, s.Mac, NeighbourState.Permanent)));
        return new OverlayEntries(fdb, bridge, neighbours);
    }

    private static readonly OverlayEntries Nothing = new([], [], []);

    [Fact]
    public void From_nothing_every_entry_is_added_and_applying_the_changes_leaves_nothing_to_do()
    {
        var design = Design(Peer("198.18.0.2", "100.88.2.1", "100.88.2.10"), Peer("198.18.0.3", "100.88.3.1"));

        var changes = OverlayDiff.Compute(design, Nothing);

        Assert.Equal([Ip("198.18.0.2"), Ip("198.18.0.3")], changes.FloodAdd.ToArray());
        Assert.Equal(3, changes.FdbSet.Length);
        Assert.Equal(3, changes.BridgeAdd.Length);
        Assert.Contains((Ip("100.88.2.10"), Mac("02:42:64:58:02:0a")), changes.NeighbourSet);
        Assert.True(OverlayDiff.Compute(design, Apply(Nothing, changes)).IsEmpty);
    }

    [Fact]
    public void A_departed_peer_loses_everything_and_a_moved_endpoint_is_repointed()
    {
        var before = Design(Peer("198.18.0.2", "100.88.2.1", "100.88.2.10"), Peer("198.18.0.3", "100.88.3.1"));
        var kernel = Apply(Nothing, OverlayDiff.Compute(before, Nothing));

        var after = Design(Peer("198.18.0.3", "100.88.3.1", "100.88.2.10"));
        var changes = OverlayDiff.Compute(after, kernel);

        Assert.Equal([Ip("198.18.0.2")], changes.FloodRemove.ToArray());
        Assert.Equal([new FdbEntry(Mac("02:42:64:58:02:01"), Ip("198.18.0.2"))], changes.FdbRemove.ToArray());
        Assert.Equal([new FdbEntry(Mac("02:42:64:58:02:0a"), Ip("198.18.0.3"))], changes.FdbSet.ToArray());
        Assert.Equal([Mac("02:42:64:58:02:01")], changes.BridgeRemove.ToArray());
        Assert.Equal([Ip("100.88.2.1")], changes.NeighbourRemove.ToArray());
        Assert.True(OverlayDiff.Compute(after, Apply(kernel, changes)).IsEmpty);
    }

    [Fact]
    public void What_the_kernel_holds_for_a_peer_gossip_has_not_told_about_yet_is_kept()
    {
        var known = Design(Peer("198.18.0.2", "100.88.2.1", "100.88.2.10"));
        var kernel = Apply(Nothing, OverlayDiff.Compute(known, Nothing));

        var restarted = Design(new OverlayPeer("198.18.0.2", Ip("198.18.0.2"), null));

        Assert.True(OverlayDiff.Compute(restarted, kernel).IsEmpty);
    }

    [Fact]
    public void Neighbours_that_are_not_ours_are_never_removed()
    {
        var foreign = new OverlayEntries([], [], [
            new Neighbour(Ip("10.1.2.3"), Mac("02:00:00:00:00:01"), NeighbourState.Permanent),
            new Neighbour(Ip("100.88.9.9"), Mac("02:00:00:00:00:02"), NeighbourState.Reachable),
            new Neighbour(Ip("fd00::9"), Mac("02:00:00:00:00:03"), NeighbourState.Permanent),
        ]);

        Assert.True(OverlayDiff.Compute(Design(), foreign).IsEmpty);
        Assert.Equal([Ip("100.88.9.9")], OverlayDiff.Compute(Design(), foreign with
        {
            Neighbours = [new Neighbour(Ip("100.88.9.9"), Mac("02:00:00:00:00:02"), NeighbourState.Permanent)],
        }).NeighbourRemove.ToArray());
    }
}
