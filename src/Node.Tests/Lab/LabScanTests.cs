namespace Nanobox.Node.Tests.Labs;

using System.Text;
using Nanobox.Lab;
using Xunit.Abstractions;

/// <summary>The port scanner, run from one lab host against another whose firewall a test sets up.</summary>
[Trait("Category", "Lab")]
public sealed class LabScanTests(BareTwoHostLab fixture, ITestOutputHelper output) : IClassFixture<BareTwoHostLab>
{
    // The test's own table in the target: the lab's faults and the product use other tables.
    private const string Table = "scan_test";

    private Lab Lab => fixture.Lab;
    private LabHost Scanner => Lab["h1"];
    private LabHost Target => Lab["h2"];

    [Fact]
    public async Task Tcp_ports_are_closed_filtered_by_a_drop_rule_and_open_with_a_listener()
    {
        var quiet = await Scanner.ScanAsync(Target.Address, ScanRequest.ForTcp("1-1024"));
        Assert.Equal(1024, quiet.PortsIn(ScanProtocol.Tcp, PortState.Closed).Count);
        Assert.All(quiet.Ports, p => Assert.Equal("reset", p.Reason));

        var sshd = await Target.StartSshdAsync(2222);
        try
        {
            await using var firewall = await FirewallAsync("tcp dport 7000 drop");
            foreach (var address in new[] { Target.Address, Target.Address6 })
            {
                var scan = await Scanner.ScanAsync(address, ScanRequest.ForTcp("1-1024,2222,7000"));
                Assert.Equal([2222], scan.PortsIn(ScanProtocol.Tcp, PortState.Open));
                Assert.Equal([7000], scan.PortsIn(ScanProtocol.Tcp, PortState.Filtered));
                Assert.Equal(1024, scan.PortsIn(ScanProtocol.Tcp, PortState.Closed).Count);
            }
        }
        finally
        {
            await sshd.StopAsync();
        }
    }

    [Fact]
    public async Task A_udp_port_behind_a_drop_rule_is_open_or_filtered_and_one_without_is_closed()
    {
        await using var firewall = await FirewallAsync("udp dport 4789 drop");
        foreach (var address in new[] { Target.Address, Target.Address6 })
        {
            var scan = await Scanner.ScanAsync(address, ScanRequest.ForUdp("4789,7946"));
            Assert.Equal(PortState.OpenFiltered, scan.Udp(4789));
            Assert.Equal(PortState.Closed, scan.Udp(7946));
        }
    }

    [Fact]
    public async Task Many_closed_udp_ports_are_all_seen_closed()
    {
        // A real host answers 6 closed UDP ports in a burst and then one a second; lab hosts answer all.
        var scan = await Scanner.ScanAsync(Target.Address, ScanRequest.ForUdp("1-2000"));
        Assert.Equal(2000, scan.PortsIn(ScanProtocol.Udp, PortState.Closed).Count);
    }

    [Fact]
    public async Task An_icmp_reject_reads_as_filtered()
    {
        await using var firewall = await FirewallAsync(
            "tcp dport 7001 reject with icmpx admin-prohibited",
            "udp dport 7001 reject with icmpx admin-prohibited");
        var scan = await Scanner.ScanAsync(Target.Address, new ScanRequest { Tcp = [7001], Udp = [7001] });
        Assert.Equal(PortState.Filtered, scan.Tcp(7001));
        Assert.Equal(PortState.Filtered, scan.Udp(7001));
    }

    [Fact]
    public async Task A_full_tcp_scan_of_a_host_that_drops_everything_takes_seconds()
    {
        await using var firewall = await FirewallAsync("drop");
        var scan = await Scanner.ScanAsync(Target.Address, ScanRequest.ForTcp("all"));
        output.WriteLine($"65535 filtered TCP ports scanned in {scan.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(65535, scan.PortsIn(ScanProtocol.Tcp, PortState.Filtered).Count);
        // 4000 in flight with 400 ms each: about 7 s. The bound leaves room for a busy machine.
        Assert.InRange(scan.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task The_cli_scans_from_a_host_it_enters_by_lab_id_and_name()
    {
        var lab = LabBinaryLocator.Command();
        string[] args = [.. lab.Skip(1), "scan", "--lab", Lab.Id, "--from", Scanner.Name, Target.Address6.ToString(), "--tcp", "1-3", "--udp", "7946", "--json"];
        var result = (await ProcessRunner.RunAsync(lab[0], args)).EnsureSuccess();
        var scan = ScanResult.FromJson(result.Stdout);
        Assert.Equal(Target.Address6.ToString(), scan.Target);
        Assert.Equal([1, 2, 3], scan.PortsIn(ScanProtocol.Tcp, PortState.Closed));
        Assert.Equal(PortState.Closed, scan.Udp(7946));

        var text = (await ProcessRunner.RunAsync(lab[0], [.. lab.Skip(1), "scan", "--lab", Lab.Id, "--from", Scanner.Name, Target.Address.ToString(), "--tcp", "22"]))
            .EnsureSuccess().Stdout;
        Assert.Contains("22/tcp      closed         reset", text);
    }

    /// <summary>Replaces the test's table in the target with an input chain holding <paramref name="rules"/>; disposing deletes the table.</summary>
    private async Task<IAsyncDisposable> FirewallAsync(params string[] rules)
    {
        var text = new StringBuilder($"table inet {Table} {{}}\ndelete table inet {Table}\n");
        text.Append($"table inet {Table} {{\n  chain input {{\n    type filter hook input priority 0; policy accept;\n");
        foreach (var rule in rules)
        {
            text.Append($"    {rule}\n");
        }

        text.Append("  }\n}\n");
        (await Netns.RunAsync(Target.Namespace, "nft", ["-f", "-"], null, default,
            stdin: (s, t) => s.WriteAsync(Encoding.UTF8.GetBytes(text.ToString()), t).AsTask())).EnsureSuccess();
        return new Cleanup(async () => (await Target.RunAsync("nft", ["delete", "table", "inet", Table])).EnsureSuccess());
    }

    private sealed class Cleanup(Func<Task> action) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await action();
    }
}
