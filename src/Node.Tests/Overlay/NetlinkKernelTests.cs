using System.Net;
using System.Text.Json;
using Nanobox.Lab;
using Nanobox.Node.Overlay.Netlink;
using static Nanobox.Node.Tests.Overlay.KernelRig;

namespace Nanobox.Node.Tests.Overlay;

/// <summary>
/// The library against the real kernel, each test in scratch namespaces of its own (never the root one),
/// and what it reads back checked against iproute2's JSON of the same namespace.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class NetlinkKernelTests
{
    [Fact]
    public async Task Opening_a_namespace_works_inside_it_and_the_entering_thread_comes_back()
    {
        await using var ns = await ScratchNamespace.CreateAsync(Prefix);
        var expected = (await ns.RunAsync("readlink", "/proc/self/ns/net")).EnsureSuccess().Stdout.Trim();
        var caller = NetworkNamespace.CurrentThreadIdentity();

        var (inside, returned) = NetworkNamespace.Run(ns.Path, NetworkNamespace.CurrentThreadIdentity);

        Assert.Equal(expected, inside);
        Assert.NotEqual(caller, inside);
        Assert.True(returned);
        Assert.Equal(caller, NetworkNamespace.CurrentThreadIdentity());
        using var kernel = RtNetlink.Open(ns.Path);
        Assert.Equal(["lo"], kernel.Links.List().Select(l => l.Name));
    }

    [Fact]
    public void A_missing_namespace_or_a_file_that_is_not_one_is_refused_clearly()
    {
        var missing = Assert.Throws<NetlinkException>(() => RtNetlink.Open("/run/netns/nbxt-does-not-exist"));
        Assert.Equal("netlink: opening network namespace /run/netns/nbxt-does-not-exist failed: No such file or directory (ENOENT)", missing.Message);

        var notNet = Assert.Throws<NetlinkException>(() => RtNetlink.Open("/proc/self/ns/uts"));
        Assert.StartsWith("netlink: entering network namespace /proc/self/ns/uts (is it a network namespace file, like /run/netns/NAME?) failed: Invalid argument (EINVAL)", notNet.Message);
    }

    [Fact]
    public async Task Links_are_created_changed_listed_as_ip_shows_them_and_deleted()
    {
        await using var ns = await ScratchNamespace.CreateAsync(Prefix);
        using var kernel = RtNetlink.Open(ns.Path);
        var underlay = await UnderlayAsync(ns, kernel);

        var bridge = kernel.Links.CreateBridge("nbx-br", 1450, Mac("02:6e:00:00:00:01"));
        var vxlan = kernel.Links.CreateVxlan(new VxlanSpec("nbx-vx", 42, Ip("198.18.0.1"), underlay) { Port = 8472, Mtu = 1400 });
        var vxlan6 = kernel.Links.CreateVxlan(new VxlanSpec("nbx-vx6", 7, Ip("fd00:6e62::1"), underlay) { Learning = true, Proxy = false, UdpChecksum = false });
        kernel.Links.SetMaster(vxlan.Device, bridge.Device);
        kernel.Links.SetMac(vxlan.Device, Mac("02:6e:00:00:00:02"));
        kernel.Links.SetMtu(bridge.Device, 1400);
        kernel.Links.SetUp(vxlan.Device, true);
        kernel.Links.SetUp(bridge.Device, true);

        var links = kernel.Links.List();
        AssertAgree(links, Json(await ns.IpAsync("-d", "-j", "link", "show")));
        Assert.Equal(
            new LinkInfo(vxlan.Index, "nbx-vx", "vxlan", 1400, Mac("02:6e:00:00:00:02"), bridge.Index, true, LinkOperState.Unknown,
                new VxlanInfo(42, 8472, Ip("198.18.0.1"), underlay.Index, Learning: false, Proxy: true, UdpChecksum: true)),
            kernel.Links.Get("nbx-vx"));
        Assert.Equal(new VxlanInfo(7, VxlanSpec.DefaultPort, Ip("fd00:6e62::1"), underlay.Index, Learning: true, Proxy: false, UdpChecksum: false), links.Single(l => l.Name == "nbx-vx6").Vxlan);
        Assert.Equal((1400, true, "bridge"), (kernel.Links.Get("nbx-br")!.Mtu, kernel.Links.Get("nbx-br")!.AdminUp, kernel.Links.Get("nbx-br")!.Kind));

        kernel.Links.SetMaster(vxlan.Device, null);
        kernel.Links.SetUp(bridge.Device, false);
        Assert.Null(kernel.Links.Get("nbx-vx")!.MasterIndex);
        Assert.False(kernel.Links.Get("nbx-br")!.AdminUp);
        AssertAgree(kernel.Links.List(), Json(await ns.IpAsync("-d", "-j", "link", "show")));

        kernel.Links.Delete(vxlan.Device);
        kernel.Links.Delete(vxlan6.Device);
        kernel.Links.Delete(bridge.Device);
        Assert.Null(kernel.Links.Get("nbx-vx"));
        Assert.Null(kernel.Links.Get("nbx-br"));
        Assert.Equal(["lo", "under", "under-peer"], kernel.Links.List().Select(l => l.Name).Order());
        Assert.Equal(["lo", "under", "under-peer"], Json(await ns.IpAsync("-j", "link", "show")).EnumerateArray().Select(l => l.GetProperty("ifname").GetString()).Order());
    }

    [Fact]
    public async Task Refusals_carry_the_errno_and_name_the_operation()
    {
        await using var ns = await ScratchNamespace.CreateAsync(Prefix);
        using var kernel = RtNetlink.Open(ns.Path);
        var underlay = await UnderlayAsync(ns, kernel);
        var bridge = kernel.Links.CreateBridge("nbx-br");

        var exists = Assert.Throws<NetlinkException>(() => kernel.Links.CreateBridge("nbx-br"));
        Assert.StartsWith("netlink: creating bridge nbx-br failed: File exists (EEXIST)", exists.Message);
        Assert.True(exists.AlreadyExists);

        var noUnderlay = Assert.Throws<NetlinkException>(() => kernel.Links.CreateVxlan(new VxlanSpec("nbx-vx", 42, Ip("198.18.0.1"), new NetDevice(9999, "ghost0"))));
        Assert.StartsWith("netlink: creating vxlan nbx-vx (vni 42, port 4789, local 198.18.0.1, underlay ghost0) failed: No such device (ENODEV)", noUnderlay.Message);
        Assert.Equal(19, noUnderlay.Errno);
        Assert.Null(kernel.Links.Get("nbx-vx"));

        // The kernel's own reason rides in the extended ACK.
        var tooBig = Assert.Throws<NetlinkException>(() => kernel.Links.SetMtu(bridge.Device, 70000));
        Assert.StartsWith("netlink: setting the MTU of nbx-br to 70000 failed: Invalid argument (EINVAL): ", tooBig.Message);

        var gone = Assert.Throws<NetlinkException>(() => kernel.Links.Delete(new NetDevice(9999, "ghost0")));
        Assert.True(gone.NotFound, gone.Message);
        Assert.Equal(underlay, kernel.Links.Get("under")!.Device);
    }

    [Fact]
    public async Task FDB_entries_append_per_destination_replace_delete_and_read_back_as_bridge_shows_them()
    {
        await using var ns = await ScratchNamespace.CreateAsync(Prefix);
        using var kernel = RtNetlink.Open(ns.Path);
        var (_, vx) = OverlayDevices(kernel, await UnderlayAsync(ns, kernel), Ip("198.18.0.1"), Mac("02:6e:00:00:00:01"));
        var zero = FdbEntry.AllZeroMac;

        foreach (var peer in new[] { "198.18.0.2", "198.18.0.3", "198.18.0.4" })
        {
            kernel.Fdb.Append(vx, new FdbEntry(zero, Ip(peer)));
        }

        kernel.Fdb.Append(vx, new FdbEntry(zero, Ip("198.18.0.6"), Port: 4790, Vni: 43));
        kernel.Fdb.Replace(vx, new FdbEntry(Mac("02:6e:00:00:00:02"), Ip("198.18.0.2")));
        kernel.Fdb.Replace(vx, new FdbEntry(Mac("02:6e:00:00:00:03"), Ip("198.18.0.3")));
        kernel.Fdb.Replace(vx, new FdbEntry(Mac("02:6e:00:00:00:03"), Ip("198.18.0.5")));

        HashSet<FdbEntry> expected =
        [
            new(zero, Ip("198.18.0.2")), new(zero, Ip("198.18.0.3")), new(zero, Ip("198.18.0.4")), new(zero, Ip("198.18.0.6"), 4790, 43),
            new(Mac("02:6e:00:00:00:02"), Ip("198.18.0.2")), new(Mac("02:6e:00:00:00:03"), Ip("198.18.0.5")),
        ];
        Assert.Equal(expected, kernel.Fdb.List(vx).ToHashSet());
        Assert.Equal(expected, await BridgeFdbAsync(ns));

        // Appending a destination the MAC already has changes nothing (the kernel's rule), so a reconcile can repeat itself.
        kernel.Fdb.Append(vx, new FdbEntry(zero, Ip("198.18.0.2")));
        Assert.Equal(expected, kernel.Fdb.List(vx).ToHashSet());

        // One peer leaves the flood list; the others stay.
        kernel.Fdb.Delete(vx, new FdbEntry(zero, Ip("198.18.0.3")));
        expected.Remove(new(zero, Ip("198.18.0.3")));
        Assert.Equal(expected, kernel.Fdb.List(vx).ToHashSet());

        foreach (var entry in expected)
        {
            kernel.Fdb.Delete(vx, entry);
        }

        Assert.Empty(kernel.Fdb.List(vx));
        Assert.Empty(await BridgeFdbAsync(ns));
        Assert.True(Assert.Throws<NetlinkException>(() => kernel.Fdb.Delete(vx, new FdbEntry(zero, Ip("198.18.0.3")))).NotFound);
    }

    [Fact]
    public async Task Dumps_longer_than_one_datagram_come_back_whole()
    {
        await using var ns = await ScratchNamespace.CreateAsync(Prefix);
        using var kernel = RtNetlink.Open(ns.Path);
        var (_, vx) = OverlayDevices(kernel, await UnderlayAsync(ns, kernel, "198.18.0.1/15"), Ip("198.18.0.1"), Mac("02:6e:00:00:00:01"));

        // About 80 bytes an entry: 2000 FDB entries take several 32 KiB datagrams.
        var peers = Enumerable.Range(2, 1000).Select(i => (Underlay: new IPAddress([198, 18, (byte)(i >> 8), (byte)i]), Overlay: new IPAddress([10, 99, (byte)(i >> 8), (byte)i]), Mac: new System.Net.NetworkInformation.PhysicalAddress([2, 0x6e, 0, 0, (byte)(i >> 8), (byte)i]))).ToList();
        foreach (var peer in peers)
        {
            kernel.Fdb.Append(vx, new FdbEntry(FdbEntry.AllZeroMac, peer.Underlay));
            kernel.Fdb.Replace(vx, new FdbEntry(peer.Mac, peer.Underlay));
            kernel.Neighbours.Replace(vx, peer.Overlay, peer.Mac);
        }

        var fdb = kernel.Fdb.List(vx).ToHashSet();
        Assert.Equal(2000, fdb.Count);
        Assert.Equal(await BridgeFdbAsync(ns), fdb);
        var neighbours = Programmed(kernel.Neighbours.List(vx));
        Assert.Equal(1000, neighbours.Count);
        Assert.Equal(await IpNeighboursAsync(ns), neighbours);
    }

    [Fact]
    public async Task Neighbours_are_replaced_listed_as_ip_shows_them_and_deleted()
    {
        await using var ns = await ScratchNamespace.CreateAsync(Prefix);
        using var kernel = RtNetlink.Open(ns.Path);
        var (_, vx) = OverlayDevices(kernel, await UnderlayAsync(ns, kernel), Ip("198.18.0.1"), Mac("02:6e:00:00:00:01"));

        kernel.Neighbours.Replace(vx, Ip("10.99.0.2"), Mac("02:6e:00:00:00:02"));
        kernel.Neighbours.Replace(vx, Ip("10.99.0.3"), Mac("02:6e:00:00:00:03"));
        kernel.Neighbours.Replace(vx, Ip("10.99.0.3"), Mac("02:6e:00:00:00:09"));
        kernel.Neighbours.Replace(vx, Ip("fd00:99::2"), Mac("02:6e:00:00:00:02"));

        HashSet<Neighbour> expected =
        [
            new(Ip("10.99.0.2"), Mac("02:6e:00:00:00:02"), NeighbourState.Permanent),
            new(Ip("10.99.0.3"), Mac("02:6e:00:00:00:09"), NeighbourState.Permanent),
            new(Ip("fd00:99::2"), Mac("02:6e:00:00:00:02"), NeighbourState.Permanent),
        ];
        Assert.Equal(expected, Programmed(kernel.Neighbours.List(vx)));
        Assert.Equal(expected, await IpNeighboursAsync(ns));

        kernel.Neighbours.Delete(vx, Ip("10.99.0.3"));
        kernel.Neighbours.Delete(vx, Ip("fd00:99::2"));
        Assert.Equal([new(Ip("10.99.0.2"), Mac("02:6e:00:00:00:02"), NeighbourState.Permanent)], Programmed(kernel.Neighbours.List(vx)));
        Assert.True(Assert.Throws<NetlinkException>(() => kernel.Neighbours.Delete(vx, Ip("10.99.0.3"))).NotFound);

        kernel.Neighbours.Delete(vx, Ip("10.99.0.2"));
        Assert.Empty(Programmed(kernel.Neighbours.List(vx)));
        Assert.Empty(await IpNeighboursAsync(ns));
    }

    [Fact]
    public async Task Addresses_are_added_listed_as_ip_shows_them_and_removed()
    {
        await using var ns = await ScratchNamespace.CreateAsync(Prefix);
        using var kernel = RtNetlink.Open(ns.Path);
        var (bridge, _) = OverlayDevices(kernel, await UnderlayAsync(ns, kernel), Ip("198.18.0.1"), Mac("02:6e:00:00:00:01"));

        kernel.Addresses.Replace(bridge, InterfaceAddress.Parse("10.99.0.1/24"));
        kernel.Addresses.Replace(bridge, InterfaceAddress.Parse("10.99.0.1/24"));
        kernel.Addresses.Replace(bridge, InterfaceAddress.Parse("fd00:99::1/64"));

        var listed = Assigned(kernel.Addresses.List(bridge));
        Assert.Contains(InterfaceAddress.Parse("10.99.0.1/24"), listed);
        Assert.Contains(InterfaceAddress.Parse("fd00:99::1/64"), listed);
        Assert.Equal(await IpAddressesAsync(ns, "nbx-br"), listed);

        kernel.Addresses.Delete(bridge, InterfaceAddress.Parse("10.99.0.1/24"));
        kernel.Addresses.Delete(bridge, InterfaceAddress.Parse("fd00:99::1/64"));
        Assert.DoesNotContain(kernel.Addresses.List(bridge), a => a.Address.Equals(Ip("10.99.0.1")) || a.Address.Equals(Ip("fd00:99::1")));
        Assert.Equal(await IpAddressesAsync(ns, "nbx-br"), Assigned(kernel.Addresses.List(bridge)));
        Assert.True(Assert.Throws<NetlinkException>(() => kernel.Addresses.Delete(bridge, InterfaceAddress.Parse("10.99.0.1/24"))).NotFound);
    }

    [Fact]
    public async Task Tx_checksum_offload_turns_off_and_on_as_ethtool_sees_it()
    {
        await using var ns = await ScratchNamespace.CreateAsync(Prefix);
        using var kernel = RtNetlink.Open(ns.Path);
        var (_, vx) = OverlayDevices(kernel, await UnderlayAsync(ns, kernel), Ip("198.18.0.1"), Mac("02:6e:00:00:00:01"));
        Assert.True(kernel.Offloads.GetTxChecksum(vx));

        kernel.Offloads.SetTxChecksum(vx, false);

        Assert.False(kernel.Offloads.GetTxChecksum(vx));
        Assert.Contains("tx-checksumming: off", (await ns.RunAsync("ethtool", "-k", "nbx-vx")).EnsureSuccess().Stdout);

        kernel.Offloads.SetTxChecksum(vx, true);
        Assert.True(kernel.Offloads.GetTxChecksum(vx));
        Assert.Contains("tx-checksumming: on", (await ns.RunAsync("ethtool", "-k", "nbx-vx")).EnsureSuccess().Stdout);

        var missing = Assert.Throws<NetlinkException>(() => kernel.Offloads.GetTxChecksum(new NetDevice(9999, "ghost0")));
        Assert.Equal("ethtool: reading tx checksum offload of ghost0 failed: No such device (ENODEV)", missing.Message);
    }

    [Fact]
    public async Task A_reply_that_never_comes_fails_at_the_timeout_instead_of_blocking()
    {
        await using var ns = await ScratchNamespace.CreateAsync(Prefix);
        using var kernel = RtNetlink.Open(ns.Path, TimeSpan.FromMilliseconds(200));

        // Nothing was sent, so nothing will come.
        var error = Assert.Throws<NetlinkException>(() => kernel.Socket.Receive(new NetlinkExchange(12345, "waiting for nothing", dump: false), "waiting for nothing"));

        Assert.Equal("netlink: waiting for nothing failed: no reply from the kernel within 0.2 s", error.Message);
        Assert.Equal(["lo"], kernel.Links.List().Select(l => l.Name));
    }

    private static void AssertAgree(IReadOnlyList<LinkInfo> links, JsonElement ip)
    {
        var shown = ip.EnumerateArray().ToDictionary(l => l.GetProperty("ifindex").GetInt32());
        Assert.Equal(shown.Keys.Order(), links.Select(l => l.Index).Order());
        var names = links.ToDictionary(l => l.Index, l => l.Name);
        foreach (var link in links)
        {
            var json = shown[link.Index];
            Assert.Equal(json.GetProperty("ifname").GetString(), link.Name);
            Assert.Equal(json.GetProperty("mtu").GetInt32(), link.Mtu);
            Assert.Equal(json.GetProperty("address").GetString(), link.Mac is null ? null : MacText.Format(link.Mac));
            Assert.Equal(json.TryGetProperty("master", out var master) ? master.GetString() : null, link.MasterIndex is { } m ? names[m] : null);
            Assert.Equal(json.GetProperty("flags").EnumerateArray().Any(f => f.GetString() == "UP"), link.AdminUp);
            Assert.Equal(json.GetProperty("operstate").GetString(), link.OperState.ToString().ToUpperInvariant());
            var info = json.TryGetProperty("linkinfo", out var linkInfo) ? linkInfo : default;
            Assert.Equal(info.ValueKind == JsonValueKind.Object && info.TryGetProperty("info_kind", out var kind) ? kind.GetString() : null, link.Kind);
            if (link.Vxlan is { } vxlan)
            {
                var data = info.GetProperty("info_data");
                Assert.Equal(data.GetProperty("id").GetUInt32(), vxlan.Vni);
                Assert.Equal(data.GetProperty("port").GetUInt16(), vxlan.Port);
                Assert.Equal((data.TryGetProperty("local", out var local) ? local : data.GetProperty("local6")).GetString(), vxlan.Local?.ToString());
                Assert.Equal(data.GetProperty("link").GetString(), vxlan.UnderlayIndex is { } u ? names[u] : null);
                Assert.Equal(data.GetProperty("learning").GetBoolean(), vxlan.Learning);
                Assert.Equal(data.TryGetProperty("proxy", out var proxy) && proxy.GetBoolean(), vxlan.Proxy);
                Assert.Equal(vxlan.Local!.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? data.GetProperty("udp_csum").GetBoolean() : !data.GetProperty("udp_zero_csum6_tx").GetBoolean(), vxlan.UdpChecksum);
            }
        }
    }

    /// <summary>The vxlan device's own entries (flag "self") as `bridge -j fdb show dev nbx-vx` prints them.</summary>
    private static async Task<HashSet<FdbEntry>> BridgeFdbAsync(ScratchNamespace ns) =>
        Json(await ns.BridgeAsync("-j", "fdb", "show", "dev", "nbx-vx")).EnumerateArray()
            .Where(e => e.TryGetProperty("flags", out var flags) && flags.EnumerateArray().Any(f => f.GetString() == "self"))
            .Select(e => new FdbEntry(
                Mac(e.GetProperty("mac").GetString()!),
                e.TryGetProperty("dst", out var dst) ? Ip(dst.GetString()!) : null,
                e.TryGetProperty("port", out var port) ? port.GetUInt16() : null,
                e.TryGetProperty("vni", out var vni) ? vni.GetUInt32() : null))
            .ToHashSet();

    /// <summary>
    /// Without the NOARP entries the kernel adds by itself for IPv6 multicast groups as the device comes up
    /// (`ip neigh show` hides them the same way).
    /// </summary>
    private static HashSet<Neighbour> Programmed(IEnumerable<Neighbour> neighbours) => neighbours.Where(n => n.State != NeighbourState.NoArp).ToHashSet();

    private static async Task<HashSet<Neighbour>> IpNeighboursAsync(ScratchNamespace ns) =>
        Json(await ns.IpAsync("-j", "neigh", "show", "dev", "nbx-vx")).EnumerateArray()
            .Select(n => new Neighbour(
                Ip(n.GetProperty("dst").GetString()!),
                n.TryGetProperty("lladdr", out var mac) ? Mac(mac.GetString()!) : null,
                n.GetProperty("state").EnumerateArray().Select(s => Enum.Parse<NeighbourState>(s.GetString()!, ignoreCase: true)).Aggregate((a, b) => a | b)))
            .ToHashSet();

    private static async Task<HashSet<InterfaceAddress>> IpAddressesAsync(ScratchNamespace ns, string device) =>
        Json(await ns.IpAsync("-j", "addr", "show", "dev", device)).EnumerateArray()
            .SelectMany(l => l.GetProperty("addr_info").EnumerateArray())
            .Select(a => new InterfaceAddress(Ip(a.GetProperty("local").GetString()!), a.GetProperty("prefixlen").GetInt32()))
            .Where(a => !a.Address.IsIPv6LinkLocal)
            .ToHashSet();

    /// <summary>Without the IPv6 link-local address, which the kernel adds by itself once the bridge has a carrier.</summary>
    private static HashSet<InterfaceAddress> Assigned(IEnumerable<InterfaceAddress> addresses) => addresses.Where(a => !a.Address.IsIPv6LinkLocal).ToHashSet();
}
