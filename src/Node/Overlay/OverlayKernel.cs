using System.Net;
using System.Net.Sockets;
using Nanobox.Node.Overlay.Netlink;

namespace Nanobox.Node.Overlay;

/// <summary>The overlay's two devices as the kernel numbers them.</summary>
public readonly record struct OverlayDevices(NetDevice Bridge, NetDevice Vxlan);

/// <summary>
/// The only overlay code that touches the kernel, through rtnetlink in-process (measured against iproute2 in
/// docs/BENCHMARKS.md). It touches two devices, <see cref="OverlayDesign.BridgeName"/> and
/// <see cref="OverlayDesign.VxlanName"/>, and the entries on them; nothing else on the host. Not thread-safe:
/// the manager's loop is its only caller.
/// </summary>
public sealed class OverlayKernel : IDisposable
{
    private readonly RtNetlink _netlink;
    private bool _portOptionsSet;

    public OverlayKernel(RtNetlink netlink) => _netlink = netlink;

    /// <summary>The device holding <paramref name="local"/>, and its MTU: what VXLAN packets leave by.</summary>
    /// <exception cref="OverlayException">No device holds it.</exception>
    public (NetDevice Device, int Mtu) FindUnderlay(IPAddress local)
    {
        foreach (var link in _netlink.Links.List())
        {
            if (link.Name is OverlayDesign.BridgeName or OverlayDesign.VxlanName)
            {
                continue;
            }

            if (_netlink.Addresses.List(link.Device).Any(a => a.Address.Equals(local)))
            {
                return (link.Device, link.Mtu);
            }
        }

        throw new OverlayException($"no network device holds the advertise address {local}; the overlay needs it as its underlay. Check --advertise (node.advertise) names one of this host's addresses.");
    }

    /// <summary>Creates or corrects the bridge and the VXLAN device (settings, master, port options, MTU, offload, up), idempotently.</summary>
    /// <returns>The devices, and what had to change (empty when nothing did).</returns>
    public (OverlayDevices Devices, IReadOnlyList<string> Changed) EnsureDevices(OverlayDesign design)
    {
        var changed = new List<string>();
        var bridge = EnsureBridge(design, changed);
        var vxlan = _netlink.Links.Get(OverlayDesign.VxlanName);
        var wanted = design.Vxlan;
        if (vxlan is not null && (vxlan.Kind != "vxlan" || !Matches(vxlan.Vxlan, wanted)))
        {
            _netlink.Links.Delete(vxlan.Device);
            changed.Add($"recreated {OverlayDesign.VxlanName} (was {Describe(vxlan)})");
            vxlan = null;
        }

        if (vxlan is null)
        {
            vxlan = _netlink.Links.CreateVxlan(wanted);
            changed.Add($"created {OverlayDesign.VxlanName} (vni {wanted.Vni}, port {wanted.Port}, local {wanted.Local}, dev {wanted.Underlay}, mtu {wanted.Mtu})");
            _portOptionsSet = false;
        }

        if (vxlan.MasterIndex != bridge.Index)
        {
            _netlink.Links.SetMaster(vxlan.Device, bridge);
            _portOptionsSet = false;
        }

        if (!_portOptionsSet)
        {
            _netlink.Links.SetBridgePort(vxlan.Device, learning: false, neighbourSuppression: true);
            _portOptionsSet = true;
        }

        if (vxlan.Mtu != design.Mtu)
        {
            _netlink.Links.SetMtu(vxlan.Device, design.Mtu);
            changed.Add($"MTU of {OverlayDesign.VxlanName} {vxlan.Mtu} -> {design.Mtu}");
        }

        // Checksums of inner packets are computed in software: offloading them on a VXLAN device corrupts
        // some flows on some NICs and kernels (flannel's experience).
        if (_netlink.Offloads.GetTxChecksum(vxlan.Device))
        {
            _netlink.Offloads.SetTxChecksum(vxlan.Device, enabled: false);
            changed.Add($"tx checksum offload off on {OverlayDesign.VxlanName}");
        }

        if (!vxlan.AdminUp)
        {
            _netlink.Links.SetUp(vxlan.Device, up: true);
        }

        return (new OverlayDevices(bridge, vxlan.Device), changed);
    }

    private NetDevice EnsureBridge(OverlayDesign design, List<string> changed)
    {
        var bridge = _netlink.Links.Get(OverlayDesign.BridgeName);
        if (bridge is not null && bridge.Kind != "bridge")
        {
            throw new OverlayException($"a {bridge.Kind ?? "network"} device named {OverlayDesign.BridgeName} exists and is not a bridge; nanobox needs that name for the overlay. Remove it (`ip link del {OverlayDesign.BridgeName}`).");
        }

        if (bridge is null)
        {
            bridge = _netlink.Links.CreateBridge(OverlayDesign.BridgeName, design.Mtu, design.BridgeMac);
            changed.Add($"created {OverlayDesign.BridgeName} (mtu {design.Mtu})");
        }

        if (bridge.Mtu != design.Mtu)
        {
            _netlink.Links.SetMtu(bridge.Device, design.Mtu);
            changed.Add($"MTU of {OverlayDesign.BridgeName} {bridge.Mtu} -> {design.Mtu}");
        }

        if (!design.BridgeMac.Equals(bridge.Mac))
        {
            _netlink.Links.SetMac(bridge.Device, design.BridgeMac);
            changed.Add($"MAC of {OverlayDesign.BridgeName} -> {design.BridgeMac}");
        }

        var addresses = _netlink.Addresses.List(bridge.Device).Where(a => a.Address.AddressFamily == AddressFamily.InterNetwork).ToList();
        foreach (var stale in addresses.Where(a => a != design.HostAddress))
        {
            _netlink.Addresses.Delete(bridge.Device, stale);
            changed.Add($"removed {stale} from {OverlayDesign.BridgeName}");
        }

        if (!addresses.Contains(design.HostAddress))
        {
            _netlink.Addresses.Replace(bridge.Device, design.HostAddress);
            changed.Add($"address {design.HostAddress} on {OverlayDesign.BridgeName}");
        }

        if (!bridge.AdminUp)
        {
            _netlink.Links.SetUp(bridge.Device, up: true);
        }

        return bridge.Device;
    }

    private static bool Matches(VxlanInfo? actual, VxlanSpec wanted) =>
        actual is not null
        && actual.Vni == wanted.Vni
        && actual.Port == wanted.Port
        && Equals(actual.Local, wanted.Local)
        && actual.UnderlayIndex == wanted.Underlay.Index
        && actual.Learning == wanted.Learning
        && actual.Proxy == wanted.Proxy
        && (wanted.Local.AddressFamily == AddressFamily.InterNetwork || actual.UdpChecksum == wanted.UdpChecksum);

    private static string Describe(LinkInfo link) =>
        link.Vxlan is { } v
            ? $"vni {v.Vni}, port {v.Port}, local {v.Local}, dev index {v.UnderlayIndex}, learning {v.Learning}, proxy {v.Proxy}"
            : $"a {link.Kind ?? "device"}";

    public OverlayEntries Read(OverlayDevices devices) =>
        new(_netlink.Fdb.List(devices.Vxlan), _netlink.Fdb.ListBridgeEntries(devices.Vxlan), _netlink.Neighbours.List(devices.Bridge));

    /// <summary>Applies one reconcile step: flood entries and FDB first, so a neighbour entry never points at a MAC with nowhere to go.</summary>
    public void Apply(OverlayDevices devices, OverlayChanges changes)
    {
        foreach (var vtep in changes.FloodAdd)
        {
            _netlink.Fdb.Append(devices.Vxlan, new FdbEntry(FdbEntry.AllZeroMac, vtep));
        }

        foreach (var entry in changes.FdbSet)
        {
            _netlink.Fdb.Replace(devices.Vxlan, entry);
        }

        foreach (var mac in changes.BridgeAdd)
        {
            _netlink.Fdb.AddBridgeEntry(devices.Vxlan, mac);
        }

        foreach (var (address, mac) in changes.NeighbourSet)
        {
            _netlink.Neighbours.Replace(devices.Bridge, address, mac);
        }

        foreach (var address in changes.NeighbourRemove)
        {
            IgnoreGone(() => _netlink.Neighbours.Delete(devices.Bridge, address));
        }

        foreach (var mac in changes.BridgeRemove)
        {
            IgnoreGone(() => _netlink.Fdb.DeleteBridgeEntry(devices.Vxlan, mac));
        }

        foreach (var entry in changes.FdbRemove)
        {
            IgnoreGone(() => _netlink.Fdb.Delete(devices.Vxlan, entry));
        }

        foreach (var vtep in changes.FloodRemove)
        {
            IgnoreGone(() => _netlink.Fdb.Delete(devices.Vxlan, new FdbEntry(FdbEntry.AllZeroMac, vtep)));
        }
    }

    private static void IgnoreGone(Action remove)
    {
        try
        {
            remove();
        }
        catch (NetlinkException ex) when (ex.NotFound)
        {
            // Already gone: what removal wanted.
        }
    }

    public void Dispose() => _netlink.Dispose();
}

public sealed class OverlayException(string message, Exception? inner = null) : Exception(message, inner);
