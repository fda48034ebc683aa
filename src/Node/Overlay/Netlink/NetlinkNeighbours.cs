using System.Net;
using System.Net.NetworkInformation;

namespace Nanobox.Node.Overlay.Netlink;

/// <summary>
/// ARP and ND entries (RTM_*NEIGH, AF_INET/AF_INET6). On a vxlan device with proxy on, the driver answers
/// ARP requests and neighbour solicitations from these entries instead of flooding them to peers.
/// </summary>
public sealed class NetlinkNeighbours
{
    private readonly NetlinkSocket _socket;

    internal NetlinkNeighbours(NetlinkSocket socket) => _socket = socket;

    /// <summary>The IPv4 and IPv6 neighbour entries of <paramref name="device"/>.</summary>
    public IReadOnlyList<Neighbour> List(NetDevice device) =>
        _socket.Dump(ListRequest(device), $"listing neighbours of {device}", m => Decode(m, device.Index));

    /// <summary>Sets a permanent entry <paramref name="address"/> → <paramref name="mac"/>, creating or replacing it.</summary>
    public void Replace(NetDevice device, IPAddress address, PhysicalAddress mac)
    {
        Check.EthernetMac(mac, "the neighbour's MAC");
        _socket.Execute(ReplaceRequest(device, address, mac), $"setting neighbour {address} lladdr {MacText.Format(mac)} on {device}");
    }

    /// <summary>Removes the entry for <paramref name="address"/>.</summary>
    /// <exception cref="NetlinkException">ENOENT (<see cref="NetlinkException.NotFound"/>) when there is none.</exception>
    public void Delete(NetDevice device, IPAddress address) =>
        _socket.Execute(DeleteRequest(device, address), $"removing neighbour {address} from {device}");

    internal static byte[] ListRequest(NetDevice device) =>
        new NetlinkRequest(MessageType.GetNeigh, MessageFlags.Request | MessageFlags.Dump)
            .Header(new NdMessage())
            .U32(Nda.IfIndex, (uint)device.Index)
            .ToArray();

    internal static byte[] ReplaceRequest(NetDevice device, IPAddress address, PhysicalAddress mac) =>
        Request(MessageType.NewNeigh, MessageFlags.Create | MessageFlags.Replace, device, address)
            .Mac(Nda.LinkLayerAddress, mac)
            .ToArray();

    internal static byte[] DeleteRequest(NetDevice device, IPAddress address) =>
        Request(MessageType.DelNeigh, 0, device, address).ToArray();

    private static NetlinkRequest Request(ushort type, ushort flags, NetDevice device, IPAddress address) =>
        new NetlinkRequest(type, (ushort)(MessageFlags.Request | MessageFlags.Ack | flags))
            .Header(new NdMessage { Family = Check.FamilyOf(address), Index = device.Index, State = Nda.StatePermanent })
            .Address(Nda.Destination, address);

    /// <summary>Decodes an IPv4/IPv6 RTM_NEWNEIGH of device <paramref name="index"/>; anything else gives null.</summary>
    internal static Neighbour? Decode(NetlinkMessage message, int index)
    {
        if (message.Type != MessageType.NewNeigh)
        {
            return null;
        }

        var header = message.Header<NdMessage>("ndmsg");
        if (header.Index != index || header.Family is not (Family.Inet or Family.Inet6))
        {
            return null;
        }

        var attributes = NdAttributes.Read(message);
        return attributes.Destination is { } address
            ? new Neighbour(address, attributes.Mac, (NeighbourState)header.State)
            : throw NetlinkException.Malformed($"RTM_NEWNEIGH on index {index} has no NDA_DST");
    }
}

/// <summary>The NDA_* attributes neighbour entries and FDB entries share.</summary>
internal readonly record struct NdAttributes(IPAddress? Destination, PhysicalAddress? Mac, ushort? Port, uint? Vni)
{
    public static NdAttributes Read(NetlinkMessage message)
    {
        var read = default(NdAttributes);
        foreach (var attribute in message.Attributes<NdMessage>())
        {
            read = attribute.Type switch
            {
                Nda.Destination => read with { Destination = attribute.Address() },
                Nda.LinkLayerAddress => read with { Mac = attribute.Mac() },
                Nda.Port => read with { Port = attribute.BigEndianU16() },
                Nda.Vni => read with { Vni = attribute.U32() },
                _ => read,
            };
        }

        return read;
    }
}
