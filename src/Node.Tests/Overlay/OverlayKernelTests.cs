using System.Collections.Immutable;
using System.Net;
using Nanobox.Lab;
using Nanobox.Node.Overlay;
using Nanobox.Node.Overlay.Netlink;
using static Nanobox.Node.Tests.Overlay.KernelRig;

namespace Nanobox.Node.Tests.Overlay;

/// <summary>
/// The product's overlay code (design, diff, <see cref="OverlayKernel"/>) against the real kernel: two hosts,
/// each a scratch namespace with a "container" namespace plugged into its bridge, joined only by a veth underlay.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class OverlayKernelTests
{
    private static readonly OverlayNetwork Network = OverlayNetwork.Create(OverlayNetwork.DefaultSubnet, 4242, 4789)
        .WithLease("node-a").WithLease("node-b");

    private sealed record Side(ScratchNamespace Host, ScratchNamespace Container, RtNetlink Netlink, OverlayKernel Kernel, OverlayBlock Block, IPAddress Underlay, IPAddress ContainerAddress) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Kernel.Dispose();
            await Container.DisposeAsync();
            await Host.DisposeAsync();
        }
    }

    private static async Task<(Side A, Side B)> TwoHostsAsync()
    {
        var a = await ScratchNamespace.CreateAsync(Prefix);
        var b = await ScratchNamespace.CreateAsync(Prefix);
        (await a.IpAsync("link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b.Name)).EnsureSuccess();
        return (await SideAsync(a, "node-a", "198.18.0.1"), await SideAsync(b, "node-b", "198.18.0.2"));
    }

    private static async Task<Side> SideAsync(ScratchNamespace host, string nodeId, string underlay)
    {
        await QuietAsync(host);
        (await host.IpAsync("addr", "add", underlay + "/24", "dev", "eth0")).EnsureSuccess();
        (await host.IpAsync("link", "set", "eth0", "up")).EnsureSuccess();
        var netlink = RtNetlink.Open(host.Path);
        var block = Network.BlockOf(nodeId)!;
        var container = await ScratchNamespace.CreateAsync(Prefix);
        await QuietAsync(container);
        var address = block.Address(10);
        (await host.IpAsync("link", "add", "c0", "type", "veth", "peer", "name", "eth0", "netns", container.Name)).EnsureSuccess();
        (await container.IpAsync("link", "set", "eth0", "address", string.Join(':', OverlayBlock.MacFor(address).GetAddressBytes().Select(x => x.ToString("x2"))))).EnsureSuccess();
        (await container.IpAsync("addr", "add", $"{address}/16", "dev", "eth0")).EnsureSuccess();
        (await container.IpAsync("link", "set", "eth0", "up")).EnsureSuccess();
        return new Side(host, container, netlink, new OverlayKernel(netlink), block, Ip(underlay), address);
    }

    /// <summary>IPv6 autoconfiguration would put multicast on the overlay and blur the counters.</summary>
    private static async Task QuietAsync(ScratchNamespace ns) =>
        (await ns.RunAsync("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")).EnsureSuccess();

    private static OverlayDesign DesignFor(Side self, Side? peer, bool peerEndpointsKnown = true)
    {
        var (underlay, mtu) = self.Kernel.FindUnderlay(self.Underlay);
        var peers = peer is null
            ? []
            : new[] { new OverlayPeer(PeerId(peer), peer.Underlay, peerEndpointsKnown ? [peer.Block.HostAddress, peer.ContainerAddress] : null) };
        return OverlayDesign.Render(Network, self.Block, self.Underlay, underlay, mtu, peers);
    }

    private static string PeerId(Side side) => side.Block.Index == 1 ? "node-a" : "node-b";

    /// <summary>One reconcile step, as the manager does it; returns what it changed.</summary>
    private static OverlayChanges Reconcile(Side side, OverlayDesign design)
    {
        var (devices, _) = side.Kernel.EnsureDevices(design);
        var port = side.Netlink.Links.Get("c0")!.Device;
        if (side.Netlink.Links.Get("c0")!.MasterIndex != devices.Bridge.Index)
        {
            side.Netlink.Links.SetMaster(port, devices.Bridge);
            side.Netlink.Links.SetUp(port, true);
        }

        var changes = OverlayDiff.Compute(design, side.Kernel.Read(devices));
        side.Kernel.Apply(devices, changes);
        return changes;
    }

    /// <summary>
    /// Counts ARP requests the VXLAN device of <paramref name="side"/> receives, in an ingress chain of its own
    /// namespace: only ARP, so a stray neighbour probe or reply between the hosts does not blur the count.
    /// </summary>
    private static async Task CountArpRequestsAsync(Side side) =>
        (await side.Host.RunAsync("nft", $$"""add table netdev probe; add chain netdev probe in { type filter hook ingress device "{{OverlayDesign.VxlanName}}" priority 0; }; add rule netdev probe in arp operation request counter"""))
            .EnsureSuccess();

    private static async Task<long> ArpRequestsReceivedAsync(Side side)
    {
        var listed = Json(await side.Host.RunAsync("nft", "-j", "list", "chain", "netdev", "probe", "in"));
        return listed.GetProperty("nftables").EnumerateArray()
            .Where(item => item.TryGetProperty("rule", out _))
            .SelectMany(item => item.GetProperty("rule").GetProperty("expr").EnumerateArray())
            .Single(expr => expr.TryGetProperty("counter", out _))
            .GetProperty("counter").GetProperty("packets").GetInt64();
    }

    [Fact]
    public async Task Containers_and_hosts_on_two_hosts_talk_ARP_for_known_endpoints_stays_local_and_unknown_is_flooded()
    {
        var (a, b) = await TwoHostsAsync();
        await using (a)
        await using (b)
        {
            Reconcile(a, DesignFor(a, b));
            Reconcile(b, DesignFor(b, a));

            Assert.True(await PingsAsync(a.Container, b.ContainerAddress.ToString()), "container a -> container b");
            Assert.True(await PingsAsync(b.Container, a.ContainerAddress.ToString()), "container b -> container a");
            Assert.True(await PingsAsync(a.Host, b.ContainerAddress.ToString()), "host a -> container b by its overlay address");

            // A known endpoint: the bridge answers the ARP request from its neighbour entry; no request reaches b.
            await CountArpRequestsAsync(b);
            var known = await a.Container.RunAsync(TestImage.BusyboxPath, "arping", "-c1", "-w1", "-I", "eth0", b.ContainerAddress.ToString());
            Assert.Contains("Received 1 response", known.Stdout);
            Assert.Equal(0, await ArpRequestsReceivedAsync(b));

            // An address nobody announced: the request is flooded to every peer (head-end replication).
            await a.Container.RunAsync(TestImage.BusyboxPath, "arping", "-c1", "-w1", "-I", "eth0", b.Block.Address(99).ToString());
            Assert.True(await ArpRequestsReceivedAsync(b) > 0, "an ARP request for an unknown address reaches the peer");
        }
    }

    [Fact]
    public async Task Reconcile_is_idempotent_sets_the_device_options_and_removes_a_peer_without_touching_anything_else()
    {
        var (a, b) = await TwoHostsAsync();
        await using (a)
        await using (b)
        {
            var first = Reconcile(a, DesignFor(a, b));
            Assert.Single(first.FloodAdd);
            Assert.Equal(2, first.FdbSet.Length);
            Assert.Equal(2, first.BridgeAdd.Length);
            Assert.Equal(2, first.NeighbourSet.Length);
            Assert.True(Reconcile(a, DesignFor(a, b)).IsEmpty);

            var vx = a.Netlink.Links.Get(OverlayDesign.VxlanName)!;
            Assert.False(vx.Vxlan!.Learning);
            Assert.False(vx.Vxlan.Proxy);
            Assert.Equal(1500 - OverlayDesign.Ipv4Overhead, vx.Mtu);
            Assert.False(a.Netlink.Offloads.GetTxChecksum(vx.Device));
            var port = Json(await a.Host.BridgeAsync("-j", "-d", "link", "show", "dev", OverlayDesign.VxlanName))[0];
            Assert.True(port.GetProperty("neigh_suppress").GetBoolean());
            Assert.False(port.GetProperty("learning").GetBoolean());

            // Someone else's entries: a dynamic neighbour in the subnet and a permanent one outside it, and a device.
            (await a.Host.IpAsync("link", "add", "other0", "type", "bridge")).EnsureSuccess();
            (await a.Host.IpAsync("neigh", "replace", "10.1.2.3", "lladdr", "02:00:00:00:00:01", "dev", OverlayDesign.BridgeName, "nud", "permanent")).EnsureSuccess();
            (await a.Host.IpAsync("neigh", "replace", "100.88.7.7", "lladdr", "02:00:00:00:00:02", "dev", OverlayDesign.BridgeName, "nud", "stale")).EnsureSuccess();

            // A peer whose endpoints gossip has not told yet (an agent restart): its entries stay.
            Assert.True(Reconcile(a, DesignFor(a, b, peerEndpointsKnown: false)).IsEmpty);

            // The peer leaves: everything of it goes, the rest stays.
            var removal = Reconcile(a, DesignFor(a, peer: null));
            Assert.Single(removal.FloodRemove);
            Assert.Equal(2, removal.FdbRemove.Length);
            Assert.Equal(2, removal.NeighbourRemove.Length);
            Assert.DoesNotContain(Json(await a.Host.BridgeAsync("-j", "fdb", "show", "dev", OverlayDesign.VxlanName)).EnumerateArray(),
                e => e.GetProperty("mac").GetString()!.StartsWith("02:42", StringComparison.Ordinal) || e.TryGetProperty("dst", out _));
            var neighbours = (await a.Host.IpAsync("neigh", "show", "dev", OverlayDesign.BridgeName)).EnsureSuccess().Stdout;
            Assert.Contains("10.1.2.3", neighbours);
            Assert.Contains("100.88.7.7", neighbours);
            Assert.DoesNotContain(b.ContainerAddress.ToString(), neighbours);
            Assert.NotNull(a.Netlink.Links.Get("other0"));
        }
    }

    [Fact]
    public async Task A_vxlan_device_with_other_settings_is_recreated_and_a_foreign_device_with_the_bridge_name_is_refused()
    {
        var (a, b) = await TwoHostsAsync();
        await using (a)
        await using (b)
        {
            Reconcile(a, DesignFor(a, b));
            var moved = DesignFor(a, b) with { Port = 8472 };
            var (_, changed) = a.Kernel.EnsureDevices(moved);
            Assert.Contains(changed, c => c.StartsWith("recreated " + OverlayDesign.VxlanName, StringComparison.Ordinal));
            Assert.Equal(8472, a.Netlink.Links.Get(OverlayDesign.VxlanName)!.Vxlan!.Port);
            // The new device has no entries: the next diff puts them back.
            Assert.False(Reconcile(a, moved).IsEmpty);
            Assert.True(Reconcile(a, moved).IsEmpty);

            (await b.Host.IpAsync("link", "add", OverlayDesign.BridgeName, "type", "veth", "peer", "name", "someones")).EnsureSuccess();
            var refused = Assert.Throws<OverlayException>(() => b.Kernel.EnsureDevices(DesignFor(b, a)));
            Assert.Contains("is not a bridge", refused.Message);
        }
    }

    /// <summary>A few tries: the first echo can race the bridge ports' move to forwarding.</summary>
    private static async Task<bool> PingsAsync(ScratchNamespace from, string to)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            if ((await from.RunAsync("ping", "-c1", "-W1", to)).Succeeded)
            {
                return true;
            }
        }

        return false;
    }
}
