using System.Text.RegularExpressions;
using Nanobox.Lab;
using Nanobox.Node.Overlay.Netlink;
using static Nanobox.Node.Tests.Overlay.KernelRig;

namespace Nanobox.Node.Tests.Overlay;

/// <summary>
/// Frames through what the library programs: ARP answered by the vxlan device from its neighbour
/// entries, and pings between two namespaces that only the VXLAN tunnel joins at L2.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class OverlayDatapathKernelTests
{
    [Fact]
    public async Task With_proxy_on_the_vxlan_device_answers_ARP_from_a_bridged_port_out_of_its_neighbour_entries()
    {
        await using var host = await ScratchNamespace.CreateAsync(Prefix);
        await using var container = await ScratchNamespace.CreateAsync(Prefix);
        using var kernel = RtNetlink.Open(host.Path);
        var (bridge, vx) = OverlayDevices(kernel, await UnderlayAsync(host, kernel), Ip("198.18.0.1"), Mac("02:6e:00:00:00:01"));

        // A container's veth on the bridge; no bridge port option: only the vxlan device's proxy flag.
        (await host.IpAsync("link", "add", "ctr", "type", "veth", "peer", "name", "eth0", "netns", container.Name)).EnsureSuccess();
        var port = kernel.Links.Get("ctr")!.Device;
        kernel.Links.SetMaster(port, bridge);
        kernel.Links.SetUp(port, true);
        (await container.IpAsync("addr", "add", "10.99.0.1/24", "dev", "eth0")).EnsureSuccess();
        (await container.IpAsync("link", "set", "eth0", "up")).EnsureSuccess();
        kernel.Neighbours.Replace(vx, Ip("10.99.0.2"), Mac("02:6e:00:00:00:02"));

        // Nothing is behind either address (no peers), so the pings fail; what matters is whether ARP got an answer.
        await container.RunAsync("ping", "-c1", "-W1", "10.99.0.2");
        await container.RunAsync("ping", "-c1", "-W1", "10.99.0.3");

        var neighbours = Json(await container.IpAsync("-j", "neigh", "show", "dev", "eth0")).EnumerateArray()
            .ToDictionary(n => n.GetProperty("dst").GetString()!, n => n.TryGetProperty("lladdr", out var mac) ? mac.GetString() : null);
        Assert.Equal("02:6e:00:00:00:02", neighbours["10.99.0.2"]);
        Assert.Null(neighbours.GetValueOrDefault("10.99.0.3"));
    }

    [Fact]
    public async Task Two_namespaces_joined_only_by_vxlan_ping_each_other_once_FDB_and_neighbours_are_programmed()
    {
        await using var a = await ScratchNamespace.CreateAsync(Prefix);
        await using var b = await ScratchNamespace.CreateAsync(Prefix);
        (await a.IpAsync("link", "add", "under", "type", "veth", "peer", "name", "under", "netns", b.Name)).EnsureSuccess();
        var sides = new[] { (Ns: a, Underlay: "198.18.0.1", Bridge: "10.99.0.1", Mac: "02:6e:00:00:00:01"), (Ns: b, Underlay: "198.18.0.2", Bridge: "10.99.0.2", Mac: "02:6e:00:00:00:02") };
        var kernels = new List<(RtNetlink Kernel, NetDevice Vxlan)>();
        try
        {
            foreach (var side in sides)
            {
                (await side.Ns.IpAsync("addr", "add", side.Underlay + "/24", "dev", "under")).EnsureSuccess();
                (await side.Ns.IpAsync("link", "set", "under", "up")).EnsureSuccess();
                var kernel = RtNetlink.Open(side.Ns.Path);
                var (bridge, vx) = OverlayDevices(kernel, kernel.Links.Get("under")!.Device, Ip(side.Underlay), Mac(side.Mac));
                kernel.Offloads.SetTxChecksum(vx, false);
                kernel.Addresses.Replace(bridge, new InterfaceAddress(Ip(side.Bridge), 24));
                kernels.Add((kernel, vx));
            }

            // The peer's overlay address is known (proxy answers ARP with it), but no FDB entry says where its MAC lives.
            for (var i = 0; i < 2; i++)
            {
                var peer = sides[1 - i];
                kernels[i].Kernel.Neighbours.Replace(kernels[i].Vxlan, Ip(peer.Bridge), Mac(peer.Mac));
            }

            Assert.False((await a.RunAsync("ping", "-c1", "-W1", "10.99.0.2")).Succeeded);
            (await a.RunAsync("nft", "add", "table", "inet", "probe")).EnsureSuccess();
            (await a.RunAsync("nft", "add", "chain", "inet", "probe", "out", "{ type filter hook output priority 0; }")).EnsureSuccess();
            (await a.RunAsync("nft", "add", "rule", "inet", "probe", "out", "ip", "daddr", "198.18.0.2", "udp", "dport", "8472", "counter")).EnsureSuccess();

            for (var i = 0; i < 2; i++)
            {
                var peer = sides[1 - i];
                kernels[i].Kernel.Fdb.Append(kernels[i].Vxlan, new FdbEntry(FdbEntry.AllZeroMac, Ip(peer.Underlay)));
                kernels[i].Kernel.Fdb.Replace(kernels[i].Vxlan, new FdbEntry(Mac(peer.Mac), Ip(peer.Underlay)));
            }

            Assert.True(await PingsAsync(a, "10.99.0.2"), "10.99.0.1 -> 10.99.0.2 over VXLAN");
            Assert.True(await PingsAsync(b, "10.99.0.1"), "10.99.0.2 -> 10.99.0.1 over VXLAN");

            // And they really went through the tunnel: A sent VXLAN datagrams to B's port.
            var counted = (await a.RunAsync("nft", "list", "chain", "inet", "probe", "out")).EnsureSuccess().Stdout;
            var packets = long.Parse(Regex.Match(counted, @"counter packets (\d+)").Groups[1].Value);
            Assert.True(packets >= 2, counted);
        }
        finally
        {
            kernels.ForEach(k => k.Kernel.Dispose());
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
