using System.Net;
using System.Text.RegularExpressions;
using Nanobox.Node.Tests.Labs;
using Xunit.Abstractions;

namespace Nanobox.Node.Tests.OverlayLab;

using Nanobox.Lab;

/// <summary>
/// A cluster of three lab hosts (h1-h3), each with its own dockerd and a container on the overlay at .10 of
/// its block that answers TCP on 8080; h4 runs a node that is not a member (a stranger on the same network).
/// </summary>
public sealed class OverlayClusterLab : IAsyncLifetime
{
    public Lab Lab { get; private set; } = null!;

    public IReadOnlyList<LabHost> Members => [.. Lab.Hosts.Take(3)];

    public LabHost Stranger => Lab.Hosts[3];

    /// <summary>The overlay address of each member's container, by host name.</summary>
    public Dictionary<string, IPAddress> Containers { get; } = [];

    public async Task InitializeAsync()
    {
        Lab = await Lab.StartAsync(new LabOptions { Hosts = 4, Docker = true });
        await Task.WhenAll(Members.Select(h => h.ImportTestImageAsync()));
        await ClusterProbe.FormAsync([.. Members], CancellationToken.None);
        await OverlayProbe.ConvergeAsync(Members, endpointsEach: 1);
        foreach (var host in Members)
        {
            var address = await OverlayProbe.AddressInBlockAsync(host, 10);
            Containers[host.Name] = address;
            await OverlayProbe.RunContainerAsync(host, "app", address, $"while true; do echo hello-from-{host.Name} | nc -l -p 8080; done");
        }

        await OverlayProbe.ConvergeAsync(Members, endpointsEach: 2);
    }

    public async Task DisposeAsync() => await Lab.DisposeAsync();
}

/// <summary>Issue 5's proof: containers on three hosts share one L2 network, only peers can put frames on it, and it survives agent restarts.</summary>
[Trait("Category", "Lab")]
public sealed class OverlayLabTests(OverlayClusterLab fixture, ITestOutputHelper output) : IClassFixture<OverlayClusterLab>
{
    [Fact]
    public async Task Containers_on_three_hosts_reach_each_other_over_tcp_and_icmp_and_hosts_reach_remote_containers()
    {
        foreach (var from in fixture.Members)
        {
            foreach (var to in fixture.Members.Where(h => h != from))
            {
                var target = fixture.Containers[to.Name].ToString();
                var ping = await OverlayProbe.ExecAsync(from, "app", "ping", "-c1", "-W2", target);
                Assert.True(ping.Succeeded, $"{from.Name} container -> {to.Name} container {target}: {ping}");
                var tcp = await OverlayProbe.ExecAsync(from, "app", "nc", "-w", "3", target, "8080");
                Assert.Contains($"hello-from-{to.Name}", tcp.Stdout);
            }
        }

        var (h1, h3) = (fixture.Members[0], fixture.Members[2]);
        Assert.True(await h1.PingAsync(fixture.Containers[h3.Name]), "host h1 reaches h3's container by its overlay address");
        Assert.Contains("mtu 1450", (await OverlayProbe.ExecAsync(h1, "app", "ip", "link", "show", "eth0")).Stdout);

        var show = await OverlayProbe.ShowAsync(h1);
        output.WriteLine(show.ToString());
        Assert.Equal("100.88.0.0/16", show.GetProperty("subnet").GetString());
        Assert.Equal(h1.Address.ToString(), show.GetProperty("vtep").GetString());
        Assert.Equal(4242u, show.GetProperty("vni").GetUInt32());
        Assert.Equal(4789, show.GetProperty("port").GetInt32());
        Assert.Equal(1450, show.GetProperty("mtu").GetInt32());
        Assert.StartsWith(show.GetProperty("address").GetString()![..^1], show.GetProperty("block").GetString()!);
        var peer = show.GetProperty("peers").EnumerateArray().Single(p => p.GetProperty("vtep").GetString() == h3.Address.ToString());
        Assert.Contains(fixture.Containers[h3.Name].ToString(), peer.GetProperty("endpoints").EnumerateArray().Select(e => e.GetString()));
        Assert.False(string.IsNullOrEmpty(peer.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task A_broadcast_ARP_reaches_every_host_and_ARP_for_a_known_endpoint_is_answered_without_flooding()
    {
        var (h1, h2, h3) = (fixture.Members[0], fixture.Members[1], fixture.Members[2]);
        var nobody = IPAddress.Parse("100.88.250.1");
        foreach (var host in new[] { h2, h3 })
        {
            await OverlayProbe.CountAsync(host, "unknown", $"arp operation request arp daddr ip {nobody}");
            await OverlayProbe.CountAsync(host, "known", $"arp operation request arp daddr ip {fixture.Containers[h2.Name]}");
        }

        await OverlayProbe.ExecAsync(h1, "app", "arping", "-c1", "-w1", nobody.ToString());
        Assert.True(await OverlayProbe.CountedAsync(h2, "unknown") >= 1, "h2 got the broadcast");
        Assert.True(await OverlayProbe.CountedAsync(h3, "unknown") >= 1, "h3 got the broadcast");

        (await OverlayProbe.ExecAsync(h1, "app", "ip", "neigh", "flush", "all")).EnsureSuccess();
        var answered = await OverlayProbe.ExecAsync(h1, "app", "arping", "-c1", "-w1", fixture.Containers[h2.Name].ToString());
        Assert.Contains("Received 1 response", answered.Stdout);
        Assert.Equal(0, await OverlayProbe.CountedAsync(h2, "known"));
        Assert.Equal(0, await OverlayProbe.CountedAsync(h3, "known"));
    }

    [Fact]
    public async Task Only_peers_can_put_frames_on_the_overlay()
    {
        var (h1, h2) = (fixture.Members[0], fixture.Members[1]);
        var fromStranger = IPAddress.Parse("100.88.250.7");
        var fromPeer = IPAddress.Parse("100.88.250.8");
        await OverlayProbe.CountAsync(h1, "stranger", $"arp daddr ip {fromStranger}");
        await OverlayProbe.CountAsync(h1, "peer", $"arp daddr ip {fromPeer}");

        for (var i = 0; i < 3; i++)
        {
            await OverlayProbe.SendCraftedVxlanAsync(fixture.Stranger, h1.Address, 4789, 4242, fromStranger);
            await OverlayProbe.SendCraftedVxlanAsync(h2, h1.Address, 4789, 4242, fromPeer);
        }

        // The same datagram from a member is delivered: the probe can see a crafted frame arrive.
        Assert.True(await Eventually.HoldsAsync(async () => await OverlayProbe.CountedAsync(h1, "peer") >= 3, TimeSpan.FromSeconds(5)));
        Assert.Equal(0, await OverlayProbe.CountedAsync(h1, "stranger"));
    }

    [Fact]
    public async Task Forwarding_goes_on_while_an_agent_restarts_or_crashes_and_nothing_is_duplicated_after()
    {
        var (h1, h2) = (fixture.Members[0], fixture.Members[1]);
        var fdb = Sorted(await OverlayProbe.FdbAsync(h1));
        var neighbours = await OverlayProbe.NeighboursAsync(h1);

        foreach (var crash in new[] { false, true })
        {
            var ping = OverlayProbe.ExecAsync(h2, "app", "ping", "-c", "40", "-i", "0.2", "-W", "1", fixture.Containers[h1.Name].ToString());
            await Task.Delay(1000);
            if (crash)
            {
                await h1.Node.KillAsync();
            }
            else
            {
                await h1.Node.StopAsync();
            }

            await Task.Delay(2000);
            await h1.Node.StartAsync();
            await h1.Node.WaitReadyAsync();
            var result = await ping;
            var counts = Regex.Match(result.Stdout, @"(\d+) packets transmitted, (\d+) packets received");
            output.WriteLine($"{(crash ? "kill -9" : "restart")}: {counts.Value}");
            Assert.Equal(counts.Groups[1].Value, counts.Groups[2].Value);

            await OverlayProbe.ConvergeAsync(fixture.Members, endpointsEach: 2);
            Assert.Equal(fdb, Sorted(await OverlayProbe.FdbAsync(h1)));
            Assert.Equal(Sorted(neighbours.Split('\n')), Sorted((await OverlayProbe.NeighboursAsync(h1)).Split('\n')));
        }
    }

    private static List<string> Sorted(IEnumerable<string> lines) => [.. lines.Select(l => l.Trim()).Where(l => l.Length > 0).Order(StringComparer.Ordinal)];
}

/// <summary>Three hosts with Docker: a member removed loses its place on every other host's overlay, and a rejoin works again.</summary>
public sealed class OverlayMembershipLab() : LabFixture(new LabOptions { Hosts = 3, Docker = true });

[Trait("Category", "Lab")]
public sealed class OverlayMembershipLabTests(OverlayMembershipLab fixture) : IClassFixture<OverlayMembershipLab>
{
    [Fact]
    public async Task A_removed_node_disappears_from_every_overlay_and_its_block_is_reused_when_it_comes_back()
    {
        var hosts = fixture.Lab.Hosts;
        var (h1, h2, h3) = (hosts[0], hosts[1], hosts[2]);
        await Task.WhenAll(hosts.Select(h => h.ImportTestImageAsync()));
        await ClusterProbe.FormAsync([.. hosts], CancellationToken.None);
        await OverlayProbe.ConvergeAsync(hosts, endpointsEach: 1);
        var h3Block = (await OverlayProbe.ShowAsync(h3)).GetProperty("block").GetString()!;
        var h3Container = await OverlayProbe.AddressInBlockAsync(h3, 10);
        await OverlayProbe.RunContainerAsync(h3, "app", h3Container, "sleep 100000");
        var h1Container = await OverlayProbe.AddressInBlockAsync(h1, 10);
        await OverlayProbe.RunContainerAsync(h1, "app", h1Container, "sleep 100000");
        await OverlayProbe.ConvergeAsync(hosts, endpointsEach: 1);
        Assert.True((await OverlayProbe.ExecAsync(h1, "app", "ping", "-c1", "-W2", h3Container.ToString())).Succeeded);

        (await h1.NanoboxAsync("cluster", "remove", h3.Name)).EnsureSuccess();
        foreach (var host in new[] { h1, h2 })
        {
            await ClusterProbe.EventuallyAsync(async () =>
            {
                var fdb = await OverlayProbe.FdbAsync(host);
                var neighbours = await OverlayProbe.NeighboursAsync(host);
                var peers = (await OverlayProbe.ShowAsync(host)).GetProperty("peers").EnumerateArray();
                return fdb.Any(e => e.Contains($"dst {h3.Address}", StringComparison.Ordinal))
                    || neighbours.Contains(h3Container.ToString(), StringComparison.Ordinal)
                    || peers.Any(p => p.GetProperty("vtep").GetString() == h3.Address.ToString())
                    ? null
                    : "gone";
            }, hosts);
        }

        Assert.False((await OverlayProbe.ExecAsync(h1, "app", "ping", "-c1", "-W1", h3Container.ToString())).Succeeded);

        // Back as a new node (a removed node id is never readmitted): the freed block is the lowest free one again.
        await h3.Node.StopAsync();
        Directory.Delete(h3.DataDir, recursive: true);
        await h3.Node.StartAsync();
        await h3.Node.WaitReadyAsync();
        (await ClusterProbe.JoinAsync(h3, h1, await ClusterProbe.TokenAsync(h1))).EnsureSuccess();
        await OverlayProbe.ConvergeAsync(hosts, endpointsEach: 1);
        Assert.Equal(h3Block, (await OverlayProbe.ShowAsync(h3)).GetProperty("block").GetString());
        Assert.True((await OverlayProbe.ExecAsync(h1, "app", "ping", "-c1", "-W2", h3Container.ToString())).Succeeded, "h1's container reaches h3's again");
    }
}
