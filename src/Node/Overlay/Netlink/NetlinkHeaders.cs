using System.Runtime.InteropServices;

namespace Nanobox.Node.Overlay.Netlink;

// The fixed headers that follow nlmsghdr, laid out as the kernel's C structs (host byte order).

/// <summary>struct ifinfomsg (16 bytes): the header of RTM_*LINK messages.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IfInfoMessage
{
    public byte Family;
    public byte Padding;
    public ushort Type;
    public int Index;
    public uint Flags;
    public uint Change;
}

/// <summary>struct ifaddrmsg (8 bytes): the header of RTM_*ADDR messages.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IfAddrMessage
{
    public byte Family;
    public byte PrefixLength;
    public byte Flags;
    public byte Scope;
    public int Index;
}

/// <summary>struct ndmsg (12 bytes): the header of RTM_*NEIGH messages, neighbours and FDB entries alike.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NdMessage
{
    public byte Family;
    public byte Padding1;
    public ushort Padding2;
    public int Index;
    public ushort State;
    public byte Flags;
    public byte Type;
}
