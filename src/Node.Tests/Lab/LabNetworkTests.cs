namespace Nanobox.Node.Tests.Labs;

using System.Net;
using System.Text.Json;
using Nanobox.Lab;

[Trait("Category", "Lab")]
public sealed class LabNetworkTests(ThreeHostLab fixture) : IClassFixture<ThreeHostLab>
{
    // After a heal, neighbour entries that failed during the cut need a moment to resolve again.
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(10);

    private Lab Lab => fixture.Lab;
    private LabHost H1 => Lab["h1"];
    private LabHost H2 => Lab["h2"];
    private LabHost H3 => Lab["h3"];

    [Fact]
    public async Task Hosts_reach_each_other_over_IPv4_and_IPv6()
    {
        foreach (var from in Lab.Hosts)
        {
            foreach (var to in Lab.Hosts.Where(h => h != from))
            {
                Assert.True(await from.PingAsync(to.Address), $"{from.Name} -> {to.Name} {to.Address}");
                Assert.True(await from.PingAsync(to.Address6), $"{from.Name} -> {to.Name} {to.Address6}");
            }
        }
    }

    [Fact]
    public async Task Hosts_have_their_addresses_and_a_default_route_on_eth0()
    {
        var addresses = (await H2.RunAsync("ip", ["-o", "addr", "show", "dev", "eth0"])).EnsureSuccess().Stdout;
        Assert.Contains("198.18.0.2/24", addresses);
        Assert.Contains("fd00:6e62::2/64", addresses);
        var routes = (await H2.RunAsync("ip", ["route", "show", "default"])).EnsureSuccess().Stdout;
        Assert.Contains("default dev eth0", routes);
    }

    [Fact]
    public async Task Each_node_reports_its_host_name_and_advertises_its_lab_address()
    {
        foreach (var host in Lab.Hosts)
        {
            var status = JsonDocument.Parse((await host.NanoboxAsync("status", "--json")).EnsureSuccess().Stdout).RootElement;
            Assert.Equal(host.Name, status.GetProperty("name").GetString());
            Assert.Equal(host.Address.ToString(), status.GetProperty("advertise").GetString());
            Assert.Equal(host.DataDir, status.GetProperty("dataDir").GetString());
        }
    }

    [Fact]
    public async Task Cut_stops_traffic_between_exactly_those_two_and_heal_restores_it()
    {
        await Lab.CutAsync(H1, H2);
        try
        {
            await AssertUnreachableAsync(H1, H2);
            await AssertUnreachableAsync(H2, H1);
            await AssertReachableAsync(H3, H1);
            await AssertReachableAsync(H3, H2);
            await AssertReachableAsync(H1, H3);
        }
        finally
        {
            await Lab.HealAsync(H1, H2);
        }

        await AssertReachableAsync(H1, H2);
        await AssertReachableAsync(H2, H1);
        Assert.Equal("", await LabTablesAsync(H1));
    }

    [Fact]
    public async Task Isolate_cuts_a_host_off_from_everyone_and_rejoin_restores_it()
    {
        await Lab.IsolateAsync(H3);
        try
        {
            await AssertUnreachableAsync(H1, H3);
            await AssertUnreachableAsync(H3, H2);
            await AssertReachableAsync(H1, H2);
        }
        finally
        {
            await Lab.RejoinAsync(H3);
        }

        await AssertReachableAsync(H1, H3);
        await AssertReachableAsync(H3, H2);
    }

    [Fact]
    public async Task Rejoin_keeps_an_explicit_cut()
    {
        await Lab.CutAsync(H1, H3);
        try
        {
            await Lab.IsolateAsync(H3);
            await Lab.RejoinAsync(H3);
            await AssertUnreachableAsync(H1, H3);
            await AssertReachableAsync(H2, H3);
        }
        finally
        {
            await Lab.HealAsync(H1, H3);
        }

        await AssertReachableAsync(H1, H3);
    }

    [Fact]
    public async Task Loss_drops_packets_arriving_at_the_host_and_zero_clears_it()
    {
        await Lab.SetLossAsync(H2, 100);
        try
        {
            await AssertUnreachableAsync(H1, H2);
            await AssertUnreachableAsync(H2, H1); // the replies are lost on the way in
            await Lab.SetLossAsync(H2, 30);
            Assert.Contains("numgen random mod 100 < 30 drop", await LabTablesAsync(H2));
        }
        finally
        {
            await Lab.SetLossAsync(H2, 0);
        }

        await AssertReachableAsync(H1, H2);
        Assert.Equal("", await LabTablesAsync(H2));
    }

    [Fact]
    public async Task Fault_rules_live_in_the_lab_table_of_the_host_namespaces_only()
    {
        await Lab.CutAsync(H1, H2);
        try
        {
            var rules = await LabTablesAsync(H1);
            Assert.Contains("table inet lab_faults", rules);
            Assert.Contains($"ip saddr {H2.Address} drop", rules);
            Assert.Contains($"ip6 saddr {H2.Address6} drop", rules);
            Assert.Equal("", await LabTablesAsync(H3));
            var sw = (await Netns.RunAsync(Lab.SwitchNamespace, "nft", ["list", "ruleset"], null, default)).EnsureSuccess().Stdout;
            Assert.Equal("", sw.Trim());
        }
        finally
        {
            await Lab.HealAsync(H1, H2);
        }
    }

    private static async Task<string> LabTablesAsync(LabHost host) =>
        (await host.RunAsync("nft", ["list", "ruleset"])).EnsureSuccess().Stdout.Trim();

    private static async Task AssertReachableAsync(LabHost from, LabHost to)
    {
        foreach (var address in new[] { to.Address, to.Address6 })
        {
            Assert.True(await Eventually.HoldsAsync(() => from.PingAsync(address), Recovery), $"{from.Name} should reach {to.Name} at {address}");
        }
    }

    private static async Task AssertUnreachableAsync(LabHost from, LabHost to)
    {
        foreach (var address in new IPAddress[] { to.Address, to.Address6 })
        {
            Assert.False(await from.PingAsync(address), $"{from.Name} should not reach {to.Name} at {address}");
        }
    }
}
