namespace Nanobox.Node.Overlay.Netlink;

// Numbers from the kernel's UAPI headers (linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h,
// neighbour.h), named as there. They are ABI: the kernel never renumbers them.

/// <summary>nlmsghdr.nlmsg_type values.</summary>
internal static class MessageType
{
    public const ushort Noop = 1;
    public const ushort Error = 2;
    public const ushort Done = 3;
    public const ushort Overrun = 4;
    public const ushort NewLink = 16;
    public const ushort DelLink = 17;
    public const ushort GetLink = 18;
    public const ushort SetLink = 19;
    public const ushort NewAddr = 20;
    public const ushort DelAddr = 21;
    public const ushort GetAddr = 22;
    public const ushort NewNeigh = 28;
    public const ushort DelNeigh = 29;
    public const ushort GetNeigh = 30;
}

/// <summary>nlmsghdr.nlmsg_flags bits.</summary>
internal static class MessageFlags
{
    public const ushort Request = 0x01;
    public const ushort Ack = 0x04;
    public const ushort DumpInterrupted = 0x10;
    public const ushort Dump = 0x300;
    public const ushort Replace = 0x100;
    public const ushort Exclusive = 0x200;
    public const ushort Create = 0x400;
    public const ushort Append = 0x800;

    /// <summary>On an NLMSG_ERROR: the echoed request was cut to its header (NETLINK_CAP_ACK).</summary>
    public const ushort Capped = 0x100;

    /// <summary>On an NLMSG_ERROR: extended-ACK attributes follow the echoed request (NETLINK_EXT_ACK).</summary>
    public const ushort AckTlvs = 0x200;
}

internal static class Family
{
    public const byte Inet = 2;
    public const byte Bridge = 7;
    public const byte Inet6 = 10;
}

/// <summary>IFLA_* link attributes.</summary>
internal static class Ifla
{
    public const ushort Address = 1;
    public const ushort IfName = 3;
    public const ushort Mtu = 4;
    public const ushort Master = 10;
    public const ushort ProtInfo = 12;
    public const ushort OperState = 16;
    public const ushort LinkInfo = 18;
    public const ushort ExtMask = 29;

    /// <summary>IFLA_INFO_* inside IFLA_LINKINFO.</summary>
    public const ushort InfoKind = 1;
    public const ushort InfoData = 2;

    /// <summary>RTEXT_FILTER_SKIP_STATS for IFLA_EXT_MASK: the overlay never reads counters, so dumps stay small.</summary>
    public const uint SkipStats = 1 << 3;

    /// <summary>IFF_UP in ifinfomsg.ifi_flags.</summary>
    public const uint Up = 0x1;
}

/// <summary>IFLA_BRPORT_* inside IFLA_PROTINFO of an AF_BRIDGE link message: a bridge port's options.</summary>
internal static class IflaBridgePort
{
    public const ushort Learning = 8;
    public const ushort NeighSuppress = 32;

    /// <summary>NLA_F_NESTED: without it the bridge reads IFLA_PROTINFO as the old one-byte STP state.</summary>
    public const ushort Nested = 0x8000;
}

/// <summary>IFLA_VXLAN_* inside IFLA_INFO_DATA of a vxlan link.</summary>
internal static class IflaVxlan
{
    public const ushort Id = 1;
    public const ushort Link = 3;
    public const ushort Local = 4;
    public const ushort Learning = 7;
    public const ushort Proxy = 11;
    public const ushort Port = 15;
    public const ushort Local6 = 17;
    public const ushort UdpChecksum = 18;
    public const ushort UdpZeroChecksum6Tx = 19;
    public const ushort UdpZeroChecksum6Rx = 20;
}

/// <summary>IFA_* address attributes.</summary>
internal static class Ifa
{
    public const ushort Address = 1;
    public const ushort Local = 2;
}

/// <summary>NDA_* neighbour and FDB attributes, NTF_* flags, NUD_* states.</summary>
internal static class Nda
{
    public const ushort Destination = 1;
    public const ushort LinkLayerAddress = 2;
    public const ushort Port = 6;
    public const ushort Vni = 7;
    public const ushort IfIndex = 8;

    public const byte FlagSelf = 0x02;
    public const byte FlagMaster = 0x04;
    public const ushort StateNoArp = 0x40;
    public const ushort StatePermanent = 0x80;
}

/// <summary>NLMSGERR_ATTR_* in an extended ACK.</summary>
internal static class ExtAck
{
    public const ushort Message = 1;
}
