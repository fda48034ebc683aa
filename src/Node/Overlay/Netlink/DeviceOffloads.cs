using System.Runtime.InteropServices;
using System.Text;
using static Nanobox.Node.Overlay.Netlink.LinuxSockets;

namespace Nanobox.Node.Overlay.Netlink;

/// <summary>
/// Transmit checksum offload through the legacy ethtool ioctl (SIOCETHTOOL) on an AF_INET datagram socket
/// of the same namespace. Turned off on a vxlan device because offloaded checksums of encapsulated
/// packets are computed wrongly on some NICs and drivers (flannel's known problem).
/// </summary>
public sealed class DeviceOffloads
{
    private const uint GetTxChecksumCommand = 0x16;
    private const uint SetTxChecksumCommand = 0x17;
    private const int IfNameSize = 16;

    private readonly FileDescriptor _socket;

    internal DeviceOffloads(FileDescriptor socket) => _socket = socket;

    /// <summary>struct ethtool_value.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct EthtoolValue
    {
        public uint Command;
        public uint Data;
    }

    /// <summary>Whether the device computes transmit checksums in "hardware" (ETHTOOL_GTXCSUM).</summary>
    public bool GetTxChecksum(NetDevice device)
    {
        var value = new EthtoolValue { Command = GetTxChecksumCommand };
        Ethtool(device, ref value, $"reading tx checksum offload of {device}");
        return value.Data != 0;
    }

    /// <summary>Turns transmit checksum offload on or off (ETHTOOL_STXCSUM: every tx-checksum-* feature the device can change).</summary>
    public void SetTxChecksum(NetDevice device, bool enabled)
    {
        var value = new EthtoolValue { Command = SetTxChecksumCommand, Data = enabled ? 1u : 0u };
        Ethtool(device, ref value, $"turning tx checksum offload of {device} {(enabled ? "on" : "off")}");
    }

    private unsafe void Ethtool(NetDevice device, ref EthtoolValue value, string operation)
    {
        Check.LinkName(device.Name);

        // struct ifreq: the name, then a union whose first member is the ifr_data pointer.
        var request = stackalloc byte[IfNameSize + (sizeof(nint) * 3)];
        new Span<byte>(request, IfNameSize + (sizeof(nint) * 3)).Clear();
        Encoding.ASCII.GetBytes(device.Name, new Span<byte>(request, IfNameSize - 1));
        fixed (EthtoolValue* data = &value)
        {
            *(EthtoolValue**)(request + IfNameSize) = data;
            if (ioctl(_socket, SiocEthtool, request) != 0)
            {
                throw NetlinkException.Failed(operation, LastErrno, via: "ethtool");
            }
        }
    }
}
