using System.Net;

namespace Nanobox.Node.Overlay.Netlink;

/// <summary>Interface addresses (RTM_*ADDR), IPv4 and IPv6.</summary>
public sealed class NetlinkAddresses
{
    private readonly NetlinkSocket _socket;

    internal NetlinkAddresses(NetlinkSocket socket) => _socket = socket;

    /// <summary>The addresses on <paramref name="device"/>, IPv4 and IPv6 (link-local included).</summary>
    public IReadOnlyList<InterfaceAddress> List(NetDevice device) =>
        _socket.Dump(ListRequest(device), $"listing addresses of {device}", m => Decode(m, device.Index));

    /// <summary>Adds <paramref name="address"/> to <paramref name="device"/>, or replaces it when it is there.</summary>
    public void Replace(NetDevice device, InterfaceAddress address) =>
        _socket.Execute(Request(MessageType.NewAddr, MessageFlags.Create | MessageFlags.Replace, device, address), $"adding address {address} to {device}");

    /// <summary>Removes <paramref name="address"/> (address and prefix length must match) from <paramref name="device"/>.</summary>
    public void Delete(NetDevice device, InterfaceAddress address) =>
        _socket.Execute(Request(MessageType.DelAddr, 0, device, address), $"removing address {address} from {device}");

    internal static byte[] ListRequest(NetDevice device) =>
        new NetlinkRequest(MessageType.GetAddr, MessageFlags.Request | MessageFlags.Dump)
            .Header(new IfAddrMessage { Index = device.Index })
            .ToArray();

    internal static byte[] Request(ushort type, ushort flags, NetDevice device, InterfaceAddress address)
    {
        var family = Check.FamilyOf(address.Address);
        var bits = family == Family.Inet ? 32 : 128;
        if (address.PrefixLength is < 0 || address.PrefixLength > bits)
        {
            throw new ArgumentException($"prefix length {address.PrefixLength} of {address} is out of range: 0 to {bits} for this address family", nameof(address));
        }

        // As iproute2 does without a peer: IFA_LOCAL is the address, IFA_ADDRESS repeats it.
        return new NetlinkRequest(type, (ushort)(MessageFlags.Request | MessageFlags.Ack | flags))
            .Header(new IfAddrMessage { Family = family, PrefixLength = (byte)address.PrefixLength, Index = device.Index })
            .Address(Ifa.Local, address.Address)
            .Address(Ifa.Address, address.Address)
            .ToArray();
    }

    /// <summary>Decodes an RTM_NEWADDR of device <paramref name="index"/>; anything else gives null.</summary>
    internal static InterfaceAddress? Decode(NetlinkMessage message, int index)
    {
        if (message.Type != MessageType.NewAddr)
        {
            return null;
        }

        var header = message.Header<IfAddrMessage>("ifaddrmsg");
        if (header.Index != index)
        {
            return null;
        }

        IPAddress? local = null;
        IPAddress? address = null;
        foreach (var attribute in message.Attributes<IfAddrMessage>())
        {
            switch (attribute.Type)
            {
                case Ifa.Local:
                    local = attribute.Address();
                    break;
                case Ifa.Address:
                    address = attribute.Address();
                    break;
            }
        }

        // IFA_LOCAL is the interface's own address where it differs (point-to-point); IPv6 sends only IFA_ADDRESS.
        return (local ?? address) is { } own
            ? new InterfaceAddress(own, header.PrefixLength)
            : throw NetlinkException.Malformed($"RTM_NEWADDR on index {index} has neither IFA_LOCAL nor IFA_ADDRESS");
    }
}
