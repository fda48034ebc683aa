using System.Net;

namespace Nanobox.Bench;

using Nanobox.Lab;

/// <summary>
/// The overlay's kernel data path with nothing of nanobox, Docker or a firewall around it: two "hosts" joined
/// through a bridge in a switch namespace (the lab's underlay), each with a bridge, a VXLAN device of the agent's settings (learning off, MTU = underlay
/// - 50, tx checksum offload off, an all-zero FDB entry to the other host) and a "container" namespace on a
/// veth port of the bridge. It tells what the kernel itself reaches with the settings, so the
/// benchmark can separate the product's cost from the kernel's. Scratch namespaces, removed on dispose.
/// </summary>
internal sealed class BareOverlay : IAsyncDisposable
{
    public const string VxlanDevice = "bare-vx";
    public const int UnderlayMtu = 1500;
    public const int OverlayMtu = UnderlayMtu - 50;

    private readonly List<ScratchNamespace> _namespaces = [];

    private BareOverlay()
    {
    }

    /// <summary>The two hosts' namespaces (index 0 and 1) and addresses on the underlay.</summary>
    public IReadOnlyList<(string Path, IPAddress Address)> Hosts { get; private set; } = [];

    /// <summary>The two containers' namespaces and addresses on the overlay.</summary>
    public IReadOnlyList<(string Path, IPAddress Address)> Containers { get; private set; } = [];

    public static async Task<BareOverlay> CreateAsync(CancellationToken ct)
    {
        var bare = new BareOverlay();
        try
        {
            await bare.BuildAsync(ct);
            return bare;
        }
        catch
        {
            await bare.DisposeAsync();
            throw;
        }
    }

    private async Task BuildAsync(CancellationToken ct)
    {
        var hosts = new ScratchNamespace[2];
        var containers = new ScratchNamespace[2];
        for (var i = 0; i < 2; i++)
        {
            hosts[i] = await AddAsync(ct);
            containers[i] = await AddAsync(ct);
        }

        IPAddress Underlay(int i) => IPAddress.Parse($"192.0.2.{i + 1}");
        IPAddress Overlay(int i) => IPAddress.Parse($"100.64.{i + 1}.10");
        // Hosts meet on a bridge in a switch namespace, as in the lab: the overlay's segments pay for that hop
        // one by one, the underlay's 64 KiB packets once each.
        var lanSwitch = await AddAsync(ct);
        (await lanSwitch.BatchAsync("ip",
        [
            "link add br0 type bridge",
            "link set br0 up",
            .. hosts.SelectMany((h, i) => new[]
            {
                $"link add port{i} mtu {UnderlayMtu} type veth peer name eth0 mtu {UnderlayMtu} netns {h.Path}",
                $"link set port{i} master br0",
                $"link set port{i} up",
            }),
        ])).EnsureSuccess();
        for (var i = 0; i < 2; i++)
        {
            var (host, container) = (hosts[i], containers[i]);
            (await host.BatchAsync("ip",
            [
                $"addr add {Underlay(i)}/24 dev eth0",
                "link set eth0 up",
                $"link add br0 mtu {OverlayMtu} type bridge",
                $"link add {VxlanDevice} mtu {OverlayMtu} type vxlan id 42 dstport 4789 local {Underlay(i)} dev eth0 nolearning",
                $"link set {VxlanDevice} master br0",
                $"link add cv0 mtu {OverlayMtu} type veth peer name eth0 netns {container.Path}",
                "link set cv0 master br0",
                $"link set {VxlanDevice} up",
                "link set cv0 up",
                "link set br0 up",
            ])).EnsureSuccess();
            (await container.BatchAsync("ip", [$"addr add {Overlay(i)}/16 dev eth0", "link set eth0 up"])).EnsureSuccess();
            (await host.BridgeAsync("link", "set", "dev", VxlanDevice, "learning", "off")).EnsureSuccess();
            (await host.BridgeAsync("fdb", "append", "00:00:00:00:00:00", "dev", VxlanDevice, "dst", $"{Underlay(1 - i)}", "self", "permanent")).EnsureSuccess();
            (await host.RunAsync("ethtool", "-K", VxlanDevice, "tx", "off")).EnsureSuccess();
        }

        Hosts = [.. hosts.Select((h, i) => (h.Path, Underlay(i)))];
        Containers = [.. containers.Select((c, i) => (c.Path, Overlay(i)))];
    }

    private async Task<ScratchNamespace> AddAsync(CancellationToken ct)
    {
        var scratch = await ScratchNamespace.CreateAsync("nbxbare", ct);
        _namespaces.Add(scratch);
        return scratch;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var scratch in _namespaces)
        {
            await scratch.DisposeAsync();
        }
    }
}
