using System.Net;
using System.Text.Json;

namespace Nanobox.Node.Tests.OverlayLab;

using Nanobox.Lab;

/// <summary>What the overlay lab tests ask of hosts: the agent's view, containers on the overlay, and the kernel's entries and counters.</summary>
internal static class OverlayProbe
{
    public const string Image = "nanobox-lab/busybox:latest";

    public static async Task<JsonElement> ShowAsync(LabHost host) =>
        JsonDocument.Parse((await host.NanoboxAsync("overlay", "show", "--json")).EnsureSuccess().Stdout).RootElement.Clone();

    /// <summary>The overlay address of host number <paramref name="number"/> in <paramref name="host"/>'s block.</summary>
    public static async Task<IPAddress> AddressInBlockAsync(LabHost host, int number)
    {
        var block = IPNetwork.Parse((await ShowAsync(host)).GetProperty("block").GetString()!);
        var bytes = block.BaseAddress.GetAddressBytes();
        bytes[3] = (byte)number;
        return new IPAddress(bytes);
    }

    /// <summary>Waits until every host's overlay is up and lists every other host as a peer announcing <paramref name="endpointsEach"/> endpoints or more.</summary>
    public static Task ConvergeAsync(IReadOnlyList<LabHost> hosts, int endpointsEach) =>
        ClusterProbe.EventuallyAsync(async () =>
        {
            foreach (var host in hosts)
            {
                var show = await ShowAsync(host);
                var peers = show.GetProperty("peers").EnumerateArray().ToList();
                if (show.GetProperty("state").GetString() != "up" || peers.Count != hosts.Count - 1
                    || peers.Any(p => !p.GetProperty("endpointsKnown").GetBoolean() || p.GetProperty("endpoints").GetArrayLength() < endpointsEach))
                {
                    return null;
                }
            }

            return "converged";
        }, hosts, TimeSpan.FromSeconds(30));

    /// <summary>Runs a container of the test image on the node's overlay network at <paramref name="address"/>.</summary>
    public static async Task RunContainerAsync(LabHost host, string name, IPAddress address, string command) =>
        (await host.DockerAsync("run", "-d", "--name", name, "--network", "nanobox", "--ip", address.ToString(), Image, "sh", "-c", command)).EnsureSuccess();

    public static Task<CommandResult> ExecAsync(LabHost host, string container, params string[] command) =>
        host.DockerAsync(["exec", container, .. command], TimeSpan.FromSeconds(30), CancellationToken.None);

    /// <summary>The VXLAN device's own forwarding table, as iproute2 prints it (one entry a line).</summary>
    public static async Task<IReadOnlyList<string>> FdbAsync(LabHost host) =>
        [.. (await host.RunAsync("bridge", ["fdb", "show", "dev", "nanobox-vx"])).EnsureSuccess().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    public static async Task<string> NeighboursAsync(LabHost host) =>
        (await host.RunAsync("ip", ["neigh", "show", "dev", "nanobox0"])).EnsureSuccess().Stdout;

    /// <summary>
    /// Counts, on <paramref name="host"/>, frames arriving from the VXLAN device into the bridge that match
    /// <paramref name="match"/> (nftables bridge-family syntax), in a table of the test's own.
    /// </summary>
    public static async Task CountAsync(LabHost host, string counter, string match) =>
        (await host.RunAsync("bash", ["-c",
            "nft add table bridge overlay_probe && nft 'add chain bridge overlay_probe in { type filter hook prerouting priority -200; }' && " +
            $"nft add rule bridge overlay_probe in iifname nanobox-vx {match} counter comment {counter}"])).EnsureSuccess();

    public static async Task<long> CountedAsync(LabHost host, string counter)
    {
        var chain = (await host.RunAsync("nft", ["-j", "list", "chain", "bridge", "overlay_probe", "in"])).EnsureSuccess().Stdout;
        foreach (var item in JsonDocument.Parse(chain).RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (item.TryGetProperty("rule", out var rule) && rule.TryGetProperty("comment", out var comment) && comment.GetString() == counter)
            {
                return rule.GetProperty("expr").EnumerateArray().Single(e => e.TryGetProperty("counter", out _)).GetProperty("counter").GetProperty("packets").GetInt64();
            }
        }

        throw new InvalidOperationException($"no counter {counter} on {host.Name}");
    }

    /// <summary>Packets the host's VXLAN device has received (decapsulated and accepted).</summary>
    public static async Task<long> VxlanReceivedAsync(LabHost host) =>
        long.Parse((await host.RunAsync("cat", ["/sys/class/net/nanobox-vx/statistics/rx_packets"])).EnsureSuccess().Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Sends one VXLAN datagram from <paramref name="from"/> to <paramref name="target"/>: VNI <paramref name="vni"/>,
    /// carrying a broadcast ARP request for <paramref name="asked"/>, as anyone on the network could craft it.
    /// </summary>
    public static async Task SendCraftedVxlanAsync(LabHost from, IPAddress target, int port, uint vni, IPAddress asked)
    {
        byte[] vxlan = [0x08, 0, 0, 0, (byte)(vni >> 16), (byte)(vni >> 8), (byte)vni, 0];
        byte[] ethernet = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0xba, 0xd0, 0, 0, 1, 0x08, 0x06];
        byte[] arp = [0, 1, 8, 0, 6, 4, 0, 1, 0x02, 0xba, 0xd0, 0, 0, 1, 100, 88, 250, 250, 0, 0, 0, 0, 0, 0, .. asked.GetAddressBytes()];
        var escaped = string.Concat(vxlan.Concat(ethernet).Concat(arp).Select(b => $"\\x{b:x2}"));
        (await from.RunAsync("bash", ["-c", $"printf '{escaped}' > /dev/udp/{target}/{port}"])).EnsureSuccess();
    }
}
