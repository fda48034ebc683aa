using System.Net;
using System.Net.NetworkInformation;
using Nanobox.Node.Overlay.Netlink;

namespace Nanobox.Node.Tests.Overlay;

/// <summary>
/// Requests byte for byte, as the kernel's UAPI structs lay them out on a little-endian machine: nlmsghdr
/// (len, type, flags, seq, pid), the fixed header, then rtattrs (len, type, value, padding to 4).
/// </summary>
public sealed class NetlinkEncodingTests
{
    private static readonly NetDevice Vx = new(5, "nanobox-vx");

    internal static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "").Replace("\n", ""));

    [Fact]
    public void An_all_zero_FDB_append_is_an_AF_BRIDGE_permanent_self_entry_with_create_and_append()
    {
        var bytes = NetlinkFdb.Request(28, 0x400 | 0x800, Vx, new FdbEntry(FdbEntry.AllZeroMac, IPAddress.Parse("198.18.0.2")));

        Assert.Equal(Hex(
            "30000000 1c00 050c 00000000 00000000" + // 48 bytes, RTM_NEWNEIGH, REQUEST|ACK|CREATE|APPEND
            "07 00 0000 05000000 8000 02 00" + // ndmsg: AF_BRIDGE, ifindex 5, NUD_PERMANENT, NTF_SELF
            "0a00 0200 000000000000 0000" + // NDA_LLADDR 00:00:00:00:00:00, padded
            "0800 0100 c6120002"), // NDA_DST 198.18.0.2
            bytes);
    }

    [Fact]
    public void An_FDB_entry_with_port_and_vni_carries_the_port_in_network_order_and_the_vni_in_host_order()
    {
        var bytes = NetlinkFdb.Request(29, 0, Vx, new FdbEntry(PhysicalAddress.Parse("02:6e:00:00:00:02"), IPAddress.Parse("2001:db8::2"), 8472, 42));

        Assert.Equal(Hex(
            "4c000000 1d00 0500 00000000 00000000" + // 76 bytes, RTM_DELNEIGH, REQUEST|ACK
            "07 00 0000 05000000 8000 02 00" +
            "0a00 0200 026e00000002 0000" +
            "1400 0100 20010db8000000000000000000000002" + // NDA_DST, 16 bytes
            "0600 0600 2118 0000" + // NDA_PORT 8472 big-endian, padded
            "0800 0700 2a000000"), // NDA_VNI 42
            bytes);
    }

    [Fact]
    public void A_vxlan_create_nests_its_settings_in_linkinfo_data()
    {
        var spec = new VxlanSpec("vx0", 42, IPAddress.Parse("198.18.0.1"), new NetDevice(3, "eth0"));

        var bytes = NetlinkLinks.CreateVxlanRequest(spec);

        Assert.Equal(Hex(
            "84000000 1000 0506 00000000 00000000" + // 132 bytes, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
            "00 00 0000 00000000 00000000 00000000" + // ifinfomsg, all zero
            "0800 0300 76783000" + // IFLA_IFNAME "vx0\0"
            "5c00 1200" + // IFLA_LINKINFO, 92 bytes
            "  0a00 0100 7678 6c61 6e00 0000" + // IFLA_INFO_KIND "vxlan\0", padded
            "  4c00 0200" + // IFLA_INFO_DATA, 76 bytes
            "    0800 0100 2a000000" + // IFLA_VXLAN_ID 42
            "    0800 0300 03000000" + // IFLA_VXLAN_LINK 3
            "    0800 0400 c6120001" + // IFLA_VXLAN_LOCAL 198.18.0.1
            "    0600 0f00 12b5 0000" + // IFLA_VXLAN_PORT 4789, big-endian
            "    0500 0700 00 000000" + // IFLA_VXLAN_LEARNING 0
            "    0500 0b00 01 000000" + // IFLA_VXLAN_PROXY 1
            "    0500 1200 01 000000" + // IFLA_VXLAN_UDP_CSUM 1
            "    0500 1300 00 000000" + // IFLA_VXLAN_UDP_ZERO_CSUM6_TX 0
            "    0500 1400 00 000000"), // IFLA_VXLAN_UDP_ZERO_CSUM6_RX 0
            bytes);
    }

    [Fact]
    public void A_bridge_create_carries_name_mtu_and_mac_before_its_kind()
    {
        var bytes = NetlinkLinks.CreateBridgeRequest("br0", 1450, PhysicalAddress.Parse("02:6e:00:00:00:01"));

        Assert.Equal(Hex(
            "4c000000 1000 0506 00000000 00000000" + // 76 bytes
            "00 00 0000 00000000 00000000 00000000" +
            "0800 0300 62723000" + // IFLA_IFNAME "br0\0"
            "0800 0400 aa050000" + // IFLA_MTU 1450
            "0a00 0100 026e00000001 0000" + // IFLA_ADDRESS
            "1000 1200 0b00 0100 6272 6964 6765 0000"), // IFLA_LINKINFO { IFLA_INFO_KIND "bridge\0" }
            bytes);
    }

    [Fact]
    public void Up_and_down_change_only_IFF_UP()
    {
        Assert.Equal(Hex("20000000 1000 0500 00000000 00000000" + "00 00 0000 07000000 01000000 01000000"), NetlinkLinks.SetUpRequest(new NetDevice(7, "br0"), up: true));
        Assert.Equal(Hex("20000000 1000 0500 00000000 00000000" + "00 00 0000 07000000 00000000 01000000"), NetlinkLinks.SetUpRequest(new NetDevice(7, "br0"), up: false));
    }

    [Fact]
    public void A_link_dump_asks_the_kernel_to_skip_statistics()
    {
        Assert.Equal(Hex("28000000 1200 0103 00000000 00000000" + "00 00 0000 00000000 00000000 00000000" + "0800 1d00 08000000"), NetlinkLinks.ListRequest());
    }

    [Fact]
    public void An_IPv6_neighbour_replace_is_permanent_with_destination_and_lladdr()
    {
        var bytes = NetlinkNeighbours.ReplaceRequest(Vx, IPAddress.Parse("fd00::2"), PhysicalAddress.Parse("02:6e:00:00:00:02"));

        Assert.Equal(Hex(
            "3c000000 1c00 0505 00000000 00000000" + // 60 bytes, RTM_NEWNEIGH, REQUEST|ACK|REPLACE|CREATE
            "0a 00 0000 05000000 8000 00 00" + // AF_INET6, ifindex 5, NUD_PERMANENT
            "1400 0100 fd000000000000000000000000000002" +
            "0a00 0200 026e00000002 0000"),
            bytes);
    }

    [Fact]
    public void An_IPv4_address_carries_local_and_address_with_its_prefix()
    {
        var bytes = NetlinkAddresses.Request(20, 0x400 | 0x100, Vx, InterfaceAddress.Parse("10.99.0.1/24"));

        Assert.Equal(Hex(
            "28000000 1400 0505 00000000 00000000" + // RTM_NEWADDR, REQUEST|ACK|REPLACE|CREATE
            "02 18 00 00 05000000" + // ifaddrmsg: AF_INET, /24, ifindex 5
            "0800 0200 0a630001" + // IFA_LOCAL
            "0800 0100 0a630001"), // IFA_ADDRESS
            bytes);
    }

    [Fact]
    public void Nested_attributes_get_the_length_of_everything_inside_them()
    {
        var request = new NetlinkRequest(16, 1);
        var outer = request.BeginNested(18);
        var inner = request.BeginNested(2);
        request.U8(7, 1);
        request.EndNested(inner).EndNested(outer);

        Assert.Equal(Hex("20000000 1000 0100 00000000 00000000" + "1000 1200 0c00 0200 0500 0700 01000000"), request.ToArray());
    }

    [Theory]
    [InlineData("")]
    [InlineData("a-name-too-long-x")]
    [InlineData("has space")]
    [InlineData("a/b")]
    public void Bad_link_names_are_refused_before_anything_is_sent(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => Check.LinkName(name));
        Assert.Contains("not a valid link name", error.Message);
    }

    [Fact]
    public void Bad_values_are_refused_with_the_fix()
    {
        Assert.Contains("6 bytes", Assert.Throws<ArgumentException>(() => NetlinkFdb.Request(28, 0, Vx, new FdbEntry(new PhysicalAddress([1, 2, 3]), null))).Message);
        Assert.Contains("0 to 32", Assert.Throws<ArgumentException>(() => NetlinkAddresses.Request(20, 0, Vx, new InterfaceAddress(IPAddress.Parse("10.0.0.1"), 33))).Message);
        Assert.Contains("ADDRESS/PREFIX", Assert.Throws<FormatException>(() => InterfaceAddress.Parse("10.0.0.1")).Message);
    }
}
