using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Nanobox.Node.Overlay.Netlink;

/// <summary>A network device as the kernel knows it: its index (what netlink addresses) and its name (what messages say).</summary>
public readonly record struct NetDevice(int Index, string Name)
{
    public override string ToString() => Name;
}

/// <summary>RFC 2863 operational state (IFLA_OPERSTATE). Virtual devices without a carrier notion report <see cref="Unknown"/> when up.</summary>
public enum LinkOperState : byte
{
    Unknown = 0,
    NotPresent = 1,
    Down = 2,
    LowerLayerDown = 3,
    Testing = 4,
    Dormant = 5,
    Up = 6,
}

/// <summary>One link as a dump reports it.</summary>
/// <param name="Kind">IFLA_INFO_KIND ("bridge", "vxlan", "veth", ...); null for devices without one (loopback, most physical NICs).</param>
/// <param name="Mac">The link-layer address; null when the device has none.</param>
/// <param name="MasterIndex">The index of the bridge (or other master) it is enslaved to; null when none.</param>
/// <param name="AdminUp">IFF_UP: set up by an administrator.</param>
/// <param name="Vxlan">The VXLAN settings when <paramref name="Kind"/> is "vxlan".</param>
public sealed record LinkInfo(int Index, string Name, string? Kind, int Mtu, PhysicalAddress? Mac, int? MasterIndex, bool AdminUp, LinkOperState OperState, VxlanInfo? Vxlan)
{
    public NetDevice Device => new(Index, Name);
}

/// <summary>A vxlan link's settings as the kernel reports them.</summary>
/// <param name="Port">The UDP destination port.</param>
/// <param name="Local">The source address of encapsulated packets; null when unset.</param>
/// <param name="UnderlayIndex">The device encapsulated packets leave by; null when unset.</param>
/// <param name="Learning">Whether the device learns remote MACs from received packets.</param>
/// <param name="Proxy">Whether the device answers ARP/ND from its neighbour table (ARP/ND suppression).</param>
/// <param name="UdpChecksum">Whether outer UDP checksums are computed (for an IPv6 underlay: not sent as zero).</param>
public sealed record VxlanInfo(uint Vni, ushort Port, IPAddress? Local, int? UnderlayIndex, bool Learning, bool Proxy, bool UdpChecksum);

/// <summary>What a new vxlan link is made of. The defaults are the overlay's: no learning, ARP/ND answered locally, UDP checksums on.</summary>
/// <param name="Vni">The VXLAN network identifier, 0 to 16777215.</param>
/// <param name="Local">The underlay address encapsulated packets come from (IPv4 or IPv6).</param>
/// <param name="Underlay">The device encapsulated packets leave by.</param>
public sealed record VxlanSpec(string Name, uint Vni, IPAddress Local, NetDevice Underlay)
{
    /// <summary>IANA's VXLAN port; configurable because some networks already use 4789 or 8472.</summary>
    public const ushort DefaultPort = 4789;

    public ushort Port { get; init; } = DefaultPort;

    /// <summary>null: the kernel's choice (underlay MTU - 50 for IPv4, - 70 for IPv6).</summary>
    public int? Mtu { get; init; }

    /// <summary>null: a random address.</summary>
    public PhysicalAddress? Mac { get; init; }

    public bool Learning { get; init; }

    public bool Proxy { get; init; } = true;

    public bool UdpChecksum { get; init; } = true;
}

/// <summary>An address on an interface with its prefix length, e.g. 10.99.0.1/24 (host bits allowed, unlike <see cref="IPNetwork"/>).</summary>
public sealed record InterfaceAddress(IPAddress Address, int PrefixLength)
{
    /// <summary>Parses "ADDRESS/PREFIX".</summary>
    /// <exception cref="FormatException">Not of that form.</exception>
    public static InterfaceAddress Parse(string text)
    {
        var slash = text.IndexOf('/');
        return slash > 0 && IPAddress.TryParse(text.AsSpan(0, slash), out var address) && int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var prefix)
            ? new InterfaceAddress(address, prefix)
            : throw new FormatException($"'{text}' is not an interface address: write ADDRESS/PREFIX, e.g. 10.99.0.1/24");
    }

    public override string ToString() => $"{Address}/{PrefixLength}";
}

/// <summary>
/// An entry of a vxlan device's own forwarding table: frames for <paramref name="Mac"/> are sent to
/// <paramref name="Destination"/>. The all-zero MAC is the default route for broadcast and unknown
/// destinations; appended once per peer, it replicates such frames to every peer (head-end replication).
/// </summary>
/// <param name="Destination">The remote VTEP's underlay address; null: the device's default remote.</param>
/// <param name="Port">The remote UDP port when it differs from the device's; null: the device's.</param>
/// <param name="Vni">The remote VNI when it differs from the device's; null: the device's.</param>
public sealed record FdbEntry(PhysicalAddress Mac, IPAddress? Destination, ushort? Port = null, uint? Vni = null)
{
    /// <summary>00:00:00:00:00:00, the flood entry.</summary>
    public static PhysicalAddress AllZeroMac => new(new byte[6]);

    public override string ToString() =>
        $"{MacText.Format(Mac)}{(Destination is null ? "" : $" dst {Destination}")}{(Port is null ? "" : $" port {Port}")}{(Vni is null ? "" : $" vni {Vni}")}";
}

/// <summary>NUD_* neighbour states (neighbour.h); a dump reports one, or <see cref="NoArp"/>/<see cref="Permanent"/> pseudo-states.</summary>
[Flags]
public enum NeighbourState : ushort
{
    None = 0,
    Incomplete = 0x01,
    Reachable = 0x02,
    Stale = 0x04,
    Delay = 0x08,
    Probe = 0x10,
    Failed = 0x20,
    NoArp = 0x40,
    Permanent = 0x80,
}

/// <summary>An ARP (IPv4) or ND (IPv6) neighbour entry.</summary>
/// <param name="Mac">The link-layer address; null while unresolved (incomplete, failed).</param>
public sealed record Neighbour(IPAddress Address, PhysicalAddress? Mac, NeighbourState State);

/// <summary>Formats and checks the values messages and requests carry.</summary>
internal static class MacText
{
    /// <summary>"02:6e:00:00:00:02", as iproute2 prints it.</summary>
    public static string Format(PhysicalAddress mac) => string.Join(':', mac.GetAddressBytes().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
}

/// <summary>Refusals of bad input, before anything reaches the kernel.</summary>
internal static class Check
{
    /// <summary>IFNAMSIZ is 16 with the NUL.</summary>
    private const int MaxNameLength = 15;

    public static void LinkName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength || name is "." or ".." || name.Any(c => c == '/' || c == ':' || char.IsWhiteSpace(c) || c > 0x7e))
        {
            throw new ArgumentException($"'{name}' is not a valid link name: use 1 to {MaxNameLength} printable ASCII characters without '/', ':' or spaces", nameof(name));
        }
    }

    public static void EthernetMac(PhysicalAddress mac, string what)
    {
        if (mac.GetAddressBytes().Length != 6)
        {
            throw new ArgumentException($"{what} '{mac}' is not an Ethernet MAC: it needs 6 bytes, e.g. 02:6e:00:00:00:02", nameof(mac));
        }
    }

    public static byte FamilyOf(IPAddress address) => address.AddressFamily switch
    {
        AddressFamily.InterNetwork => Family.Inet,
        AddressFamily.InterNetworkV6 => Family.Inet6,
        _ => throw new ArgumentException($"'{address}' is not an IPv4 or IPv6 address", nameof(address)),
    };
}
