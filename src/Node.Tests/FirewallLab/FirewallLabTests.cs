using Nanobox.Node.Tests.Labs;
using Xunit.Abstractions;

namespace Nanobox.Node.Tests.FirewallLab;

using Nanobox.Lab;

/// <summary>A member is closed to strangers but SSH and the join port, and open to its peers.</summary>
[Trait("Category", "Lab")]
public sealed class FirewallScanLabTests(FourHostLab fixture, ITestOutputHelper output) : IClassFixture<FourHostLab>
{
    [Fact]
    public async Task Strangers_find_only_ssh_and_the_join_port_members_find_the_cluster_ports()
    {
        var (h1, h2, h3, outsider) = (fixture.Lab.Hosts[0], fixture.Lab.Hosts[1], fixture.Lab.Hosts[2], fixture.Lab.Hosts[3]);
        await h1.StartSshdAsync();

        // Standalone: nothing in the kernel, every port of the running agent answers (closed or open).
        Assert.DoesNotContain("nanobox", await FirewallProbe.TablesAsync(h1));
        Assert.Equal(PortState.Closed, await FirewallProbe.TcpAsync(outsider, h1.Address, 7947));

        await ClusterProbe.FormAsync(h1, h2, h3);
        Assert.Contains("table inet nanobox", await FirewallProbe.TablesAsync(h1));

        var fromOutside = await outsider.ScanAsync(h1.Address, ScanRequest.ForTcp("all") with { Udp = PortList.Parse("7946,4789") });
        output.WriteLine($"outside scan of {h1.Address}: {fromOutside.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal([22, 7948], fromOutside.PortsIn(ScanProtocol.Tcp, PortState.Open));
        Assert.Empty(fromOutside.PortsIn(ScanProtocol.Tcp, PortState.Closed));
        Assert.Equal(65533, fromOutside.PortsIn(ScanProtocol.Tcp, PortState.Filtered).Count);
        Assert.Equal(PortState.OpenFiltered, fromOutside.Udp(7946));
        Assert.Equal(PortState.OpenFiltered, fromOutside.Udp(4789));

        var fromMember = await h2.ScanAsync(h1.Address, ScanRequest.ForTcp("22,7946-7949,8080"));
        Assert.Equal([22, 7946, 7947, 7948, 7949], fromMember.PortsIn(ScanProtocol.Tcp, PortState.Open));
        Assert.Equal(PortState.Filtered, fromMember.Tcp(8080));

        // Over IPv6 too.
        Assert.Equal(PortState.Filtered, await FirewallProbe.TcpAsync(outsider, h1.Address6, 7947));
        Assert.Equal(PortState.Open, await FirewallProbe.TcpAsync(outsider, h1.Address6, 22));

        // Gossip datagrams from a stranger never reach the agent; a member's junk does, and is counted.
        var before = await FirewallProbe.GossipDroppedAsync(h1);
        await FirewallProbe.SendJunkToGossipAsync(outsider, h1.Address);
        await Task.Delay(1000);
        Assert.Equal(before, await FirewallProbe.GossipDroppedAsync(h1));
        await FirewallProbe.SendJunkToGossipAsync(h2, h1.Address);
        await ClusterProbe.EventuallyAsync(async () => await FirewallProbe.GossipDroppedAsync(h1) >= before + 5 ? "counted" : null, fixture.Lab.Hosts);
    }
}

/// <summary>Holes follow membership: punched when a node joins, closed when it is removed.</summary>
[Trait("Category", "Lab")]
public sealed class FirewallMembershipLabTests(FourHostLab fixture, ITestOutputHelper output) : IClassFixture<FourHostLab>
{
    [Fact]
    public async Task A_joining_node_is_let_through_everywhere_and_a_removed_one_is_cut()
    {
        var hosts = fixture.Lab.Hosts;
        var (members, newcomer) = (hosts.Take(3).ToArray(), hosts[3]);
        await ClusterProbe.FormAsync(members, CancellationToken.None);
        var addresses = members.Select(m => m.Address).ToList();
        Assert.Equal(PortState.Filtered, await FirewallProbe.TcpAsync(newcomer, members[1].Address, 7947));

        var token = await ClusterProbe.TokenAsync(members[0]);
        (await ClusterProbe.JoinAsync(newcomer, members[0], token)).EnsureSuccess();
        var letIn = await FirewallProbe.UntilAsync(newcomer, addresses, 7947, FirewallProbe.Reached, TimeSpan.FromSeconds(10));
        output.WriteLine($"let through on all 3 members {letIn.TotalMilliseconds:0} ms after `cluster join` returned");
        foreach (var member in members)
        {
            Assert.Contains(newcomer.Address.ToString(), await FirewallProbe.PeersAsync(member));
        }

        // The newcomer's own firewall lets the members in.
        var back = await FirewallProbe.TcpAsync(members[2], newcomer.Address, 7949);
        Assert.True(back == PortState.Open, $"{back}\n{(await newcomer.NanoboxAsync("firewall", "show")).Stdout}\n{await FirewallProbe.TableAsync(newcomer, "inet nanobox")}\n{newcomer.LogTail(30)}");

        (await members[0].NanoboxAsync("cluster", "remove", newcomer.Name)).EnsureSuccess();
        var cut = await FirewallProbe.UntilAsync(newcomer, addresses, 7947, s => s == PortState.Filtered, TimeSpan.FromSeconds(10));
        output.WriteLine($"cut off on all 3 members {cut.TotalMilliseconds:0} ms after `cluster remove` returned");
        foreach (var member in members)
        {
            Assert.DoesNotContain(newcomer.Address.ToString(), await FirewallProbe.PeersAsync(member));
            Assert.Contains(newcomer.Address.ToString(), await FirewallProbe.TableAsync(member, "inet nanobox")); // in the cut set
        }

        // Revoked means cut off for a while, established flows included; only the join port still answers
        // it, as it answers any stranger, so that it hears why it cannot come back.
        Assert.Equal(PortState.Filtered, await FirewallProbe.TcpAsync(newcomer, members[1].Address, 7946));
        Assert.Equal(PortState.Open, await FirewallProbe.TcpAsync(newcomer, members[1].Address, 7948));
    }
}

/// <summary>A ruleset that would lock out SSH or the peers is refused, or rolled back, and SSH keeps answering.</summary>
[Trait("Category", "Lab")]
public sealed class FirewallRollbackLabTests(ThreeHostLab fixture) : IClassFixture<ThreeHostLab>
{
    [Fact]
    public async Task Lockouts_are_refused_or_rolled_back_and_ordinary_rules_apply_everywhere()
    {
        var (h1, h2, h3) = (fixture.Lab.Hosts[0], fixture.Lab.Hosts[1], fixture.Lab.Hosts[2]);
        await h1.StartSshdAsync();
        await ClusterProbe.FormAsync(h1, h2, h3);

        var refused = await h1.NanoboxAsync("firewall", "deny", "22/tcp");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("would close SSH", refused.Stderr);

        var rolledBack = await h1.NanoboxAsync("firewall", "deny", "22/tcp", "--force", "--node");
        Assert.NotEqual(0, rolledBack.ExitCode);
        Assert.Contains("rolled the new ruleset back", rolledBack.Stderr);
        Assert.Contains("SSH port 22", rolledBack.Stderr);
        var show = await FirewallProbe.ShowAsync(h1);
        var change = show.GetProperty("lastChange");
        Assert.Equal("rolled-back", change.GetProperty("outcome").GetString());
        Assert.InRange(change.GetProperty("durationMs").GetInt64(), 0, 10_000);
        Assert.False(show.GetProperty("rules").EnumerateArray().Single().GetProperty("applied").GetBoolean());
        Assert.Equal(PortState.Open, await FirewallProbe.TcpAsync(h2, h1.Address, 22));
        (await h1.NanoboxAsync("firewall", "remove", "deny", "22/tcp", "--node")).EnsureSuccess();

        // A cluster-wide rule that cuts the peers: every node rolls it back.
        var cutPeers = await h2.NanoboxAsync("firewall", "deny", "7949/tcp", "--force");
        Assert.NotEqual(0, cutPeers.ExitCode);
        Assert.True(cutPeers.Stderr.Contains("cluster port 7949", StringComparison.Ordinal), cutPeers.ToString());
        // Every member tried the rule and rolled it back on its own; until the last one has, writes forwarded
        // to a leader that still drops new connections on 7949 cannot get through.
        foreach (var host in new[] { h1, h2, h3 })
        {
            await ClusterProbe.EventuallyAsync(async () =>
                (await FirewallProbe.ShowAsync(host)).GetProperty("lastChange").GetProperty("outcome").GetString() == "rolled-back" ? "rolled back" : null,
                fixture.Lab.Hosts);
        }

        Assert.Equal(PortState.Open, await FirewallProbe.TcpAsync(h3, h2.Address, 7949));
        (await h2.NanoboxAsync("firewall", "remove", "deny", "7949/tcp")).EnsureSuccess();

        // An ordinary rule: stored once, applied by every member.
        (await h3.NanoboxAsync("firewall", "allow", "8080/tcp")).EnsureSuccess();
        foreach (var host in new[] { h1, h2, h3 })
        {
            await ClusterProbe.EventuallyAsync(async () =>
                (await FirewallProbe.ShowAsync(host)).GetProperty("rules").EnumerateArray().Any(r => r.GetProperty("rule").GetString() == "allow 8080/tcp" && r.GetProperty("applied").GetBoolean()) ? "applied" : null,
                fixture.Lab.Hosts);
        }

        Assert.Equal(PortState.Closed, await FirewallProbe.TcpAsync(h2, h1.Address, 8080));
        Assert.Equal(PortState.Open, await FirewallProbe.TcpAsync(h2, h1.Address, 22));
    }
}

/// <summary>Other tables are never touched, and protection holds through restarts, crashes and until disabled.</summary>
[Trait("Category", "Lab")]
public sealed class FirewallLifecycleLabTests(FourHostLab fixture) : IClassFixture<FourHostLab>
{
    private const string StandIns = """
        table ip docker_standin {
            chain DOCKER-USER {
                return
            }
            chain forward {
                type filter hook forward priority filter; policy drop;
                jump DOCKER-USER
            }
        }
        table inet ufw_standin {
            set blocked {
                type ipv4_addr
                elements = { 192.0.2.66 }
            }
            chain input {
                type filter hook input priority filter + 10; policy accept;
                ip saddr @blocked drop
            }
        }
        """;

    [Fact]
    public async Task Other_tables_stay_identical_and_protection_holds_through_restart_crash_and_disable()
    {
        var (h1, h2, h3, outsider) = (fixture.Lab.Hosts[0], fixture.Lab.Hosts[1], fixture.Lab.Hosts[2], fixture.Lab.Hosts[3]);
        var file = Path.Combine(h1.Directory, "standins.nft");
        await File.WriteAllTextAsync(file, StandIns);
        (await h1.RunAsync("nft", ["-f", file])).EnsureSuccess();
        async Task<string> OthersAsync() => await FirewallProbe.TableAsync(h1, "ip docker_standin") + await FirewallProbe.TableAsync(h1, "inet ufw_standin");
        var original = await OthersAsync();

        await ClusterProbe.FormAsync(h1, h2, h3);
        Assert.Equal(original, await OthersAsync());
        (await h1.NanoboxAsync("firewall", "allow", "8080/tcp", "--node")).EnsureSuccess();
        Assert.Equal(original, await OthersAsync());

        // A restart: probed from outside all along, the cluster port is never reachable, not even refused.
        using var probing = new CancellationTokenSource();
        var seen = new List<PortState>();
        var probe = Task.Run(async () =>
        {
            while (!probing.IsCancellationRequested)
            {
                seen.Add(await FirewallProbe.TcpAsync(outsider, h1.Address, 7947));
            }
        });
        await h1.Node.StopAsync();
        Assert.Contains("table inet nanobox", await FirewallProbe.TablesAsync(h1));
        await Task.Delay(2000);
        await h1.Node.StartAsync();
        await h1.Node.WaitReadyAsync();
        await ClusterProbe.ConvergeAsync([h1, h2, h3], expected: 3, voters: 3, fixture.Lab.Hosts);
        await probing.CancelAsync();
        await probe;
        Assert.True(seen.Count >= 4, $"only {seen.Count} probes");
        Assert.All(seen, s => Assert.Equal(PortState.Filtered, s));
        Assert.Equal(original, await OthersAsync());

        // kill -9: the rules stay; a peer is still let through (refused: nothing listens), a stranger is not.
        await h1.Node.KillAsync();
        Assert.Equal(PortState.Closed, await FirewallProbe.TcpAsync(h2, h1.Address, 7947));
        Assert.Equal(PortState.Filtered, await FirewallProbe.TcpAsync(outsider, h1.Address, 7947));
        await h1.Node.StartAsync();
        await h1.Node.WaitReadyAsync();
        await ClusterProbe.ConvergeAsync([h1, h2, h3], expected: 3, voters: 3, fixture.Lab.Hosts);

        // Disable removes our table and only it; enable puts it back.
        (await h1.NanoboxAsync("firewall", "disable")).EnsureSuccess();
        Assert.DoesNotContain("inet nanobox", await FirewallProbe.TablesAsync(h1));
        Assert.Equal(original, await OthersAsync());
        Assert.Equal(PortState.Closed, await FirewallProbe.TcpAsync(outsider, h1.Address, 9999));
        (await h1.NanoboxAsync("firewall", "enable")).EnsureSuccess();
        Assert.Contains("inet nanobox", await FirewallProbe.TablesAsync(h1));
        Assert.Equal(PortState.Filtered, await FirewallProbe.TcpAsync(outsider, h1.Address, 9999));

        // What package removal runs once the agent is stopped.
        await h1.Node.StopAsync();
        (await h1.NanoboxAsync("firewall", "disable", "--offline")).EnsureSuccess();
        Assert.DoesNotContain("inet nanobox", await FirewallProbe.TablesAsync(h1));
        Assert.Equal(original, await OthersAsync());
    }
}
