using System.Net;
using System.Net.NetworkInformation;
using System.Text.Json;
using Nanobox.Lab;
using Nanobox.Node.Overlay.Netlink;

namespace Nanobox.Node.Tests.Overlay;

/// <summary>
/// What the overlay kernel tests share: a scratch namespace with an underlay (a veth whose peer is in the
/// same namespace, or in another one), and the JSON iproute2 prints for what is there.
/// </summary>
internal static class KernelRig
{
    public const string Prefix = "nbxt";

    public static IPAddress Ip(string text) => IPAddress.Parse(text);

    public static PhysicalAddress Mac(string text) => PhysicalAddress.Parse(text);

    public static JsonElement Json(CommandResult result) =>
        JsonDocument.Parse(result.EnsureSuccess().Stdout is { Length: > 0 } json ? json : "[]").RootElement.Clone();

    /// <summary>An underlay veth `under` with <paramref name="address"/>, up; its peer `under-peer` stays in the namespace, up.</summary>
    public static async Task<NetDevice> UnderlayAsync(ScratchNamespace ns, RtNetlink kernel, string address = "198.18.0.1/24")
    {
        (await ns.IpAsync("link", "add", "under", "type", "veth", "peer", "name", "under-peer")).EnsureSuccess();
        (await ns.IpAsync("addr", "add", address, "dev", "under")).EnsureSuccess();
        (await ns.IpAsync("link", "set", "under", "up")).EnsureSuccess();
        (await ns.IpAsync("link", "set", "under-peer", "up")).EnsureSuccess();
        return kernel.Links.Get("under")!.Device;
    }

    /// <summary>A bridge and a vxlan (learning off, proxy on) enslaved to it, both up: the overlay's shape.</summary>
    public static (NetDevice Bridge, NetDevice Vxlan) OverlayDevices(RtNetlink kernel, NetDevice underlay, IPAddress local, PhysicalAddress bridgeMac)
    {
        var bridge = kernel.Links.CreateBridge("nbx-br", mac: bridgeMac).Device;
        var vxlan = kernel.Links.CreateVxlan(new VxlanSpec("nbx-vx", 42, local, underlay) { Port = 8472 }).Device;
        kernel.Links.SetMaster(vxlan, bridge);
        kernel.Links.SetUp(vxlan, true);
        kernel.Links.SetUp(bridge, true);
        return (bridge, vxlan);
    }
}
