using System.Net.NetworkInformation;

namespace Nanobox.Node.Overlay.Netlink;

/// <summary>
/// A vxlan device's own forwarding table (AF_BRIDGE RTM_*NEIGH with NTF_SELF, permanent entries): which
/// remote VTEP a MAC lives behind, and, through all-zero MAC entries, where broadcast and unknown frames go.
/// </summary>
public sealed class NetlinkFdb
{
    private readonly NetlinkSocket _socket;

    internal NetlinkFdb(NetlinkSocket socket) => _socket = socket;

    /// <summary>
    /// The entries of <paramref name="vxlan"/>'s own table, one per destination (an all-zero MAC with three
    /// peers is three entries). Entries the bridge above it learned or holds (NTF_MASTER) are not included.
    /// </summary>
    public IReadOnlyList<FdbEntry> List(NetDevice vxlan) =>
        _socket.Dump(ListRequest(vxlan), $"listing FDB entries of {vxlan}", m => Decode(m, vxlan.Index));

    /// <summary>
    /// Adds a destination for <paramref name="entry"/>'s MAC beside those it has (NLM_F_APPEND): how the
    /// all-zero MAC gets one destination per peer. A destination the MAC already has is left as it is (no error).
    /// </summary>
    public void Append(NetDevice vxlan, FdbEntry entry) =>
        _socket.Execute(Request(MessageType.NewNeigh, MessageFlags.Create | MessageFlags.Append, vxlan, entry), $"appending FDB entry {entry} on {vxlan}");

    /// <summary>Points <paramref name="entry"/>'s MAC at its destination, creating the entry or replacing its destination.</summary>
    public void Replace(NetDevice vxlan, FdbEntry entry) =>
        _socket.Execute(Request(MessageType.NewNeigh, MessageFlags.Create | MessageFlags.Replace, vxlan, entry), $"replacing FDB entry {entry} on {vxlan}");

    /// <summary>
    /// Removes one destination of the MAC (with a destination given, the others stay: how one peer leaves the
    /// flood list). As the kernel has it, a destination the MAC does not have is no error while the MAC has others.
    /// </summary>
    /// <exception cref="NetlinkException">ENOENT (<see cref="NetlinkException.NotFound"/>) when the MAC has no entry at all.</exception>
    public void Delete(NetDevice vxlan, FdbEntry entry) =>
        _socket.Execute(Request(MessageType.DelNeigh, 0, vxlan, entry), $"removing FDB entry {entry} from {vxlan}");

    /// <summary>
    /// The static entries the bridge above <paramref name="port"/> holds for it (NTF_MASTER, NUD_NOARP): the
    /// MACs the bridge sends out of that port without flooding, and answers ARP/ND for when the port
    /// suppresses neighbour discovery. Learned and local entries are not included.
    /// </summary>
    public IReadOnlyList<PhysicalAddress> ListBridgeEntries(NetDevice port) =>
        _socket.Dump(ListRequest(port), $"listing bridge FDB entries of {port}", m => DecodeBridgeEntry(m, port.Index));

    /// <summary>Adds (or keeps) a static bridge entry: frames for <paramref name="mac"/> leave by <paramref name="port"/>.</summary>
    public void AddBridgeEntry(NetDevice port, PhysicalAddress mac) =>
        _socket.Execute(BridgeEntryRequest(MessageType.NewNeigh, MessageFlags.Create | MessageFlags.Replace, port, mac), $"adding bridge FDB entry {MacText.Format(mac)} on {port}");

    /// <exception cref="NetlinkException">ENOENT (<see cref="NetlinkException.NotFound"/>) when the bridge has no such entry.</exception>
    public void DeleteBridgeEntry(NetDevice port, PhysicalAddress mac) =>
        _socket.Execute(BridgeEntryRequest(MessageType.DelNeigh, 0, port, mac), $"removing bridge FDB entry {MacText.Format(mac)} from {port}");

    internal static byte[] BridgeEntryRequest(ushort type, ushort flags, NetDevice port, PhysicalAddress mac)
    {
        Check.EthernetMac(mac, "the bridge FDB entry's MAC");
        return new NetlinkRequest(type, (ushort)(MessageFlags.Request | MessageFlags.Ack | flags))
            .Header(new NdMessage { Family = Family.Bridge, Index = port.Index, State = Nda.StateNoArp, Flags = Nda.FlagMaster })
            .Mac(Nda.LinkLayerAddress, mac)
            .ToArray();
    }

    internal static PhysicalAddress? DecodeBridgeEntry(NetlinkMessage message, int index)
    {
        if (message.Type != MessageType.NewNeigh)
        {
            return null;
        }

        var header = message.Header<NdMessage>("ndmsg");
        // The bridge reports its own entries without NTF_SELF (and names itself in NDA_MASTER, not in the flags).
        if (header.Family != Family.Bridge || header.Index != index || (header.Flags & Nda.FlagSelf) != 0
            || (header.State & Nda.StateNoArp) == 0 || (header.State & Nda.StatePermanent) != 0)
        {
            return null;
        }

        return NdAttributes.Read(message).Mac ?? throw NetlinkException.Malformed($"bridge FDB entry on index {index} has no NDA_LLADDR");
    }

    /// <summary>A strict-checked dump filtered to one device by ndm_ifindex (older kernels ignore it; <see cref="Decode"/> filters too).</summary>
    internal static byte[] ListRequest(NetDevice vxlan) =>
        new NetlinkRequest(MessageType.GetNeigh, MessageFlags.Request | MessageFlags.Dump)
            .Header(new NdMessage { Family = Family.Bridge, Index = vxlan.Index })
            .ToArray();

    internal static byte[] Request(ushort type, ushort flags, NetDevice vxlan, FdbEntry entry)
    {
        Check.EthernetMac(entry.Mac, "the FDB entry's MAC");
        var request = new NetlinkRequest(type, (ushort)(MessageFlags.Request | MessageFlags.Ack | flags))
            .Header(new NdMessage { Family = Family.Bridge, Index = vxlan.Index, State = Nda.StatePermanent, Flags = Nda.FlagSelf })
            .Mac(Nda.LinkLayerAddress, entry.Mac);
        if (entry.Destination is { } destination)
        {
            Check.FamilyOf(destination);
            request.Address(Nda.Destination, destination);
        }

        if (entry.Port is { } port)
        {
            request.BigEndianU16(Nda.Port, port);
        }

        if (entry.Vni is { } vni)
        {
            request.U32(Nda.Vni, vni);
        }

        return request.ToArray();
    }

    /// <summary>Decodes an AF_BRIDGE RTM_NEWNEIGH of device <paramref name="index"/>'s own table; anything else gives null.</summary>
    internal static FdbEntry? Decode(NetlinkMessage message, int index)
    {
        if (message.Type != MessageType.NewNeigh)
        {
            return null;
        }

        var header = message.Header<NdMessage>("ndmsg");
        if (header.Family != Family.Bridge || header.Index != index || (header.Flags & Nda.FlagSelf) == 0)
        {
            return null;
        }

        var attributes = NdAttributes.Read(message);
        return attributes.Mac is { } mac
            ? new FdbEntry(mac, attributes.Destination, attributes.Port, attributes.Vni)
            : throw NetlinkException.Malformed($"FDB entry on index {index} has no NDA_LLADDR");
    }
}
