using System.Collections.Immutable;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Nanobox.Node.Overlay.Netlink;

namespace Nanobox.Node.Overlay;

/// <summary>
/// What the kernel should hold for the overlay on this host, rendered by <see cref="Render"/> (pure):
/// a bridge with the host's overlay address, a VXLAN device enslaved to it (learning off; the bridge answers
/// ARP for known endpoints from its own neighbour table and floods only unknown ones), and per peer one
/// flood entry plus an FDB entry, a static bridge entry and a neighbour entry for each endpoint it announces.
/// </summary>
/// <param name="Mtu">Of the bridge and the VXLAN device: the underlay's MTU minus the encapsulation.</param>
/// <param name="HostAddress">The host's overlay address with the whole subnet's prefix, so every block is on-link.</param>
/// <param name="Local">The underlay address VXLAN packets leave from (the node's advertise address).</param>
public sealed record OverlayDesign(
    int Mtu,
    InterfaceAddress HostAddress,
    PhysicalAddress BridgeMac,
    uint Vni,
    ushort Port,
    IPAddress Local,
    NetDevice Underlay,
    IPNetwork Subnet,
    ImmutableArray<OverlayPeer> Peers)
{
    public const string BridgeName = "nanobox0";
    public const string VxlanName = "nanobox-vx";

    /// <summary>Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers.</summary>
    public const int Ipv4Overhead = 50;

    /// <summary>The same over an IPv6 underlay (40-byte outer header).</summary>
    public const int Ipv6Overhead = 70;

    /// <param name="underlayMtu">The MTU of the device that carries <paramref name="local"/>.</param>
    /// <param name="peers">Every admitted peer with its underlay address and, when gossip has said, its endpoints.</param>
    public static OverlayDesign Render(OverlayNetwork network, OverlayBlock block, IPAddress local, NetDevice underlay, int underlayMtu, IEnumerable<OverlayPeer> peers)
    {
        var overhead = local.AddressFamily == AddressFamily.InterNetworkV6 ? Ipv6Overhead : Ipv4Overhead;
        var sameFamily = peers.Where(p => p.Vtep.AddressFamily == local.AddressFamily && !p.Vtep.Equals(local));
        return new OverlayDesign(
            underlayMtu - overhead,
            new InterfaceAddress(block.HostAddress, network.SubnetNetwork.PrefixLength),
            OverlayBlock.MacFor(block.HostAddress),
            network.Vni,
            checked((ushort)network.Port),
            local,
            underlay,
            network.SubnetNetwork,
            [.. sameFamily.OrderBy(p => p.NodeId, StringComparer.Ordinal)]);
    }

    /// <summary>The VXLAN device as it must be; one that differs in any of these is recreated.</summary>
    public VxlanSpec Vxlan => new(VxlanName, Vni, Local, Underlay)
    {
        Port = Port,
        Mtu = Mtu,
        Learning = false,
        // ARP is answered by the bridge (neighbour suppression on the VXLAN port), which still floods what it
        // does not know; the device's own proxy would swallow every unknown request instead.
        Proxy = false,
        // Zero outer UDP checksums are the IPv4 norm; an IPv6 underlay must carry them (RFC 6935).
        UdpChecksum = Local.AddressFamily == AddressFamily.InterNetworkV6,
    };
}

/// <summary>A peer as the overlay sees it.</summary>
/// <param name="Vtep">The peer's underlay address: its VXLAN packets come from, and go to, there.</param>
/// <param name="Endpoints">The overlay addresses it announced (its host address and containers); null while gossip has not said.</param>
public sealed record OverlayPeer(string NodeId, IPAddress Vtep, ImmutableArray<IPAddress>? Endpoints)
{
    public bool Equals(OverlayPeer? other) =>
        other is not null && NodeId == other.NodeId && Vtep.Equals(other.Vtep)
        && (Endpoints is null ? other.Endpoints is null : other.Endpoints is { } e && Endpoints.Value.SequenceEqual(e));

    public override int GetHashCode() => HashCode.Combine(NodeId, Vtep);
}
