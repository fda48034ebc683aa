using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Nanobox.Node.Overlay.Netlink;

/// <summary>Links (RTM_*LINK): list, look up, create bridges and vxlan devices, and change them.</summary>
public sealed class NetlinkLinks
{
    private const ushort Change = MessageFlags.Request | MessageFlags.Ack;
    private const ushort CreateNew = Change | MessageFlags.Create | MessageFlags.Exclusive;
    private const int MaxVni = (1 << 24) - 1;

    private readonly NetlinkSocket _socket;

    internal NetlinkLinks(NetlinkSocket socket) => _socket = socket;

    /// <summary>Every link in the namespace.</summary>
    public IReadOnlyList<LinkInfo> List() => _socket.Dump(ListRequest(), "listing links", Decode);

    /// <summary>The link called <paramref name="name"/>, or null when there is none.</summary>
    public LinkInfo? Get(string name)
    {
        Check.LinkName(name);
        LinkInfo? found = null;
        try
        {
            _socket.Execute(GetRequest(name), $"reading link {name}", (in NetlinkMessage message) => found ??= Decode(message));
        }
        catch (NetlinkException ex) when (ex.NotFound)
        {
            return null;
        }

        return found;
    }

    /// <summary>Creates a Linux bridge, down; <see cref="SetUp"/> brings it up.</summary>
    /// <exception cref="NetlinkException">EEXIST when a link of that name exists.</exception>
    public LinkInfo CreateBridge(string name, int? mtu = null, PhysicalAddress? mac = null)
    {
        Check.LinkName(name);
        _socket.Execute(CreateBridgeRequest(name, mtu, mac), $"creating bridge {name}");
        return Created(name);
    }

    /// <summary>Creates a vxlan device, down, as <paramref name="spec"/> says.</summary>
    /// <exception cref="NetlinkException">EEXIST when a link of that name exists; ENODEV when the underlay device does not.</exception>
    public LinkInfo CreateVxlan(VxlanSpec spec)
    {
        Check.LinkName(spec.Name);
        if (spec.Vni > MaxVni)
        {
            throw new ArgumentException($"VNI {spec.Vni} is out of range: VXLAN identifiers are 0 to {MaxVni}", nameof(spec));
        }

        Check.FamilyOf(spec.Local);
        _socket.Execute(CreateVxlanRequest(spec), $"creating vxlan {spec.Name} (vni {spec.Vni}, port {spec.Port}, local {spec.Local}, underlay {spec.Underlay.Name})");
        return Created(spec.Name);
    }

    /// <summary>Enslaves <paramref name="port"/> to <paramref name="bridge"/>, or frees it when <paramref name="bridge"/> is null.</summary>
    public void SetMaster(NetDevice port, NetDevice? bridge) =>
        _socket.Execute(
            Modify(port).U32(Ifla.Master, (uint)(bridge?.Index ?? 0)).ToArray(),
            bridge is { } b ? $"enslaving {port} to {b}" : $"releasing {port} from its master");

    /// <summary>Sets the MTU (for a vxlan device: at most the underlay's MTU minus the encapsulation).</summary>
    public void SetMtu(NetDevice device, int mtu) =>
        _socket.Execute(Modify(device).U32(Ifla.Mtu, checked((uint)mtu)).ToArray(), $"setting the MTU of {device} to {mtu}");

    /// <summary>Sets the link-layer address (a bridge keeps it, instead of following its ports' addresses).</summary>
    public void SetMac(NetDevice device, PhysicalAddress mac)
    {
        Check.EthernetMac(mac, "the new address");
        _socket.Execute(Modify(device).Mac(Ifla.Address, mac).ToArray(), $"setting the address of {device} to {MacText.Format(mac)}");
    }

    /// <summary>
    /// Sets a bridge port's options: whether the bridge learns source MACs on it, and whether it answers
    /// ARP/ND requests for addresses it knows (neighbour entry on the bridge plus a static FDB entry on
    /// this port) instead of flooding them out of this port. Unknown addresses are still flooded.
    /// </summary>
    public void SetBridgePort(NetDevice port, bool learning, bool neighbourSuppression) =>
        _socket.Execute(BridgePortRequest(port, learning, neighbourSuppression),
            $"setting bridge port {port} learning {(learning ? "on" : "off")}, neighbour suppression {(neighbourSuppression ? "on" : "off")}");

    /// <summary>Sets IFF_UP (up) or clears it (down).</summary>
    public void SetUp(NetDevice device, bool up) =>
        _socket.Execute(SetUpRequest(device, up), $"setting {device} {(up ? "up" : "down")}");

    /// <summary>Deletes the link (and, for a bridge, releases its ports; for a veth, its peer goes too).</summary>
    public void Delete(NetDevice device) =>
        _socket.Execute(
            new NetlinkRequest(MessageType.DelLink, Change).Header(new IfInfoMessage { Index = device.Index }).ToArray(),
            $"deleting link {device}");

    private LinkInfo Created(string name) =>
        Get(name) ?? throw new NetlinkException($"netlink: link {name} was created but is gone again");

    internal static byte[] ListRequest() =>
        new NetlinkRequest(MessageType.GetLink, MessageFlags.Request | MessageFlags.Dump)
            .Header(new IfInfoMessage())
            .U32(Ifla.ExtMask, Ifla.SkipStats)
            .ToArray();

    internal static byte[] GetRequest(string name) =>
        new NetlinkRequest(MessageType.GetLink, Change)
            .Header(new IfInfoMessage())
            .String(Ifla.IfName, name)
            .U32(Ifla.ExtMask, Ifla.SkipStats)
            .ToArray();

    internal static byte[] CreateBridgeRequest(string name, int? mtu, PhysicalAddress? mac)
    {
        var request = NewLink(name, mtu, mac);
        var info = request.BeginNested(Ifla.LinkInfo);
        request.String(Ifla.InfoKind, "bridge");
        return request.EndNested(info).ToArray();
    }

    internal static byte[] CreateVxlanRequest(VxlanSpec spec)
    {
        var request = NewLink(spec.Name, spec.Mtu, spec.Mac);
        var info = request.BeginNested(Ifla.LinkInfo);
        request.String(Ifla.InfoKind, "vxlan");
        var data = request.BeginNested(Ifla.InfoData);
        request
            .U32(IflaVxlan.Id, spec.Vni)
            .U32(IflaVxlan.Link, (uint)spec.Underlay.Index)
            .Address(spec.Local.AddressFamily == AddressFamily.InterNetwork ? IflaVxlan.Local : IflaVxlan.Local6, spec.Local)
            .BigEndianU16(IflaVxlan.Port, spec.Port)
            .Flag(IflaVxlan.Learning, spec.Learning)
            .Flag(IflaVxlan.Proxy, spec.Proxy)
            .Flag(IflaVxlan.UdpChecksum, spec.UdpChecksum)
            .Flag(IflaVxlan.UdpZeroChecksum6Tx, !spec.UdpChecksum)
            .Flag(IflaVxlan.UdpZeroChecksum6Rx, !spec.UdpChecksum);
        return request.EndNested(data).EndNested(info).ToArray();
    }

    internal static byte[] BridgePortRequest(NetDevice port, bool learning, bool neighbourSuppression)
    {
        var request = new NetlinkRequest(MessageType.SetLink, Change).Header(new IfInfoMessage { Family = Family.Bridge, Index = port.Index });
        var options = request.BeginNested(Ifla.ProtInfo | IflaBridgePort.Nested);
        request.Flag(IflaBridgePort.Learning, learning).Flag(IflaBridgePort.NeighSuppress, neighbourSuppression);
        return request.EndNested(options).ToArray();
    }

    internal static byte[] SetUpRequest(NetDevice device, bool up) =>
        new NetlinkRequest(MessageType.NewLink, Change)
            .Header(new IfInfoMessage { Index = device.Index, Flags = up ? Ifla.Up : 0, Change = Ifla.Up })
            .ToArray();

    private static NetlinkRequest Modify(NetDevice device) =>
        new NetlinkRequest(MessageType.NewLink, Change).Header(new IfInfoMessage { Index = device.Index });

    private static NetlinkRequest NewLink(string name, int? mtu, PhysicalAddress? mac)
    {
        var request = new NetlinkRequest(MessageType.NewLink, CreateNew).Header(new IfInfoMessage()).String(Ifla.IfName, name);
        if (mtu is { } m)
        {
            request.U32(Ifla.Mtu, checked((uint)m));
        }

        if (mac is not null)
        {
            Check.EthernetMac(mac, "the link address");
            request.Mac(Ifla.Address, mac);
        }

        return request;
    }

    /// <summary>Decodes an RTM_NEWLINK; other message types give null.</summary>
    internal static LinkInfo? Decode(NetlinkMessage message)
    {
        if (message.Type != MessageType.NewLink)
        {
            return null;
        }

        var header = message.Header<IfInfoMessage>("ifinfomsg");
        string? name = null;
        string? kind = null;
        var mtu = 0;
        PhysicalAddress? mac = null;
        int? master = null;
        var operState = LinkOperState.Unknown;
        VxlanInfo? vxlan = null;
        foreach (var attribute in message.Attributes<IfInfoMessage>())
        {
            switch (attribute.Type)
            {
                case Ifla.IfName:
                    name = attribute.String();
                    break;
                case Ifla.Mtu:
                    mtu = (int)attribute.U32();
                    break;
                case Ifla.Address:
                    mac = attribute.Mac();
                    break;
                case Ifla.Master:
                    master = (int)attribute.U32();
                    break;
                case Ifla.OperState:
                    operState = (LinkOperState)attribute.U8();
                    break;
                case Ifla.LinkInfo:
                    (kind, vxlan) = DecodeLinkInfo(attribute.Nested());
                    break;
            }
        }

        return name is null
            ? throw NetlinkException.Malformed($"RTM_NEWLINK for index {header.Index} has no IFLA_IFNAME")
            : new LinkInfo(header.Index, name, kind, mtu, mac, master, (header.Flags & Ifla.Up) != 0, operState, vxlan);
    }

    private static (string? Kind, VxlanInfo? Vxlan) DecodeLinkInfo(NetlinkAttributes info)
    {
        string? kind = null;
        VxlanInfo? vxlan = null;
        foreach (var attribute in info)
        {
            switch (attribute.Type)
            {
                case Ifla.InfoKind:
                    kind = attribute.String();
                    break;

                // The kernel writes IFLA_INFO_KIND before IFLA_INFO_DATA.
                case Ifla.InfoData when kind == "vxlan":
                    vxlan = DecodeVxlan(attribute.Nested());
                    break;
            }
        }

        return (kind, vxlan);
    }

    private static VxlanInfo DecodeVxlan(NetlinkAttributes data)
    {
        uint vni = 0;
        ushort port = 0;
        IPAddress? local = null;
        int? underlay = null;
        bool learning = false, proxy = false, udpChecksum = false, zeroChecksum6Tx = false;
        foreach (var attribute in data)
        {
            switch (attribute.Type)
            {
                case IflaVxlan.Id:
                    vni = attribute.U32();
                    break;
                case IflaVxlan.Port:
                    port = attribute.BigEndianU16();
                    break;
                case IflaVxlan.Local or IflaVxlan.Local6:
                    local = attribute.Address();
                    break;
                case IflaVxlan.Link:
                    underlay = (int)attribute.U32();
                    break;
                case IflaVxlan.Learning:
                    learning = attribute.Flag();
                    break;
                case IflaVxlan.Proxy:
                    proxy = attribute.Flag();
                    break;
                case IflaVxlan.UdpChecksum:
                    udpChecksum = attribute.Flag();
                    break;
                case IflaVxlan.UdpZeroChecksum6Tx:
                    zeroChecksum6Tx = attribute.Flag();
                    break;
            }
        }

        var checksum = local?.AddressFamily == AddressFamily.InterNetworkV6 ? !zeroChecksum6Tx : udpChecksum;
        return new VxlanInfo(vni, port, local, underlay is 0 ? null : underlay, learning, proxy, checksum);
    }
}
