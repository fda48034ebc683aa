namespace Nanobox.Node.Tests.Labs;

using Nanobox.Lab;

/// <summary>The real OpenSSH daemon in a lab host: what the host firewall tests keep reachable.</summary>
[Trait("Category", "Lab")]
public sealed class LabSshdTests(BareTwoHostLab fixture) : IClassFixture<BareTwoHostLab>
{
    private Lab Lab => fixture.Lab;
    private LabHost H1 => Lab["h1"];
    private LabHost H2 => Lab["h2"];

    [Fact]
    public async Task Sshd_runs_in_its_host_namespace_and_greets_another_host_with_its_banner()
    {
        var sshd = await H1.StartSshdAsync();
        try
        {
            // The firewall finds SSH ports by the sockets of processes named sshd.
            Assert.Equal("sshd", File.ReadAllText($"/proc/{sshd.Pid}/comm").Trim());
            var hostNamespace = (await H1.RunAsync("readlink", ["/proc/self/ns/net"])).EnsureSuccess().Stdout.Trim();
            Assert.Equal(hostNamespace, new FileInfo($"/proc/{sshd.Pid}/ns/net").LinkTarget);
            Assert.NotEqual(hostNamespace, new FileInfo("/proc/self/ns/net").LinkTarget);

            foreach (var address in new[] { H1.Address, H1.Address6 })
            {
                // nc's input is at EOF at once: it prints what sshd says first and leaves within 2 s.
                var greeting = await H2.RunAsync("busybox", ["nc", "-w", "2", address.ToString(), "22"], TimeSpan.FromSeconds(20));
                Assert.StartsWith("SSH-2.0-", greeting.Stdout);
            }

            // A whole key exchange, not just a banner: the key offered is the host's own.
            var scan = (await H2.RunAsync("ssh-keyscan", ["-t", "ed25519", "-p", "22", H1.Address.ToString()], TimeSpan.FromSeconds(20))).EnsureSuccess();
            var publicKey = File.ReadAllText(sshd.HostKeyPath + ".pub").Split(' ')[1];
            Assert.Contains(publicKey, scan.Stdout);
        }
        finally
        {
            await sshd.StopAsync();
        }
    }

    [Fact]
    public async Task A_stopped_sshd_is_gone_and_its_port_closed()
    {
        var sshd = await H2.StartSshdAsync(2200);
        Assert.Equal(PortState.Open, (await H1.ScanAsync(H2.Address, ScanRequest.ForTcp("2200"))).Tcp(2200));

        await sshd.StopAsync();

        Assert.False(sshd.IsRunning);
        Assert.Equal(PortState.Closed, (await H1.ScanAsync(H2.Address, ScanRequest.ForTcp("2200"))).Tcp(2200));
        Assert.Contains("Server listening on :: port 2200", sshd.ReadLog());
    }

    [Fact]
    public async Task Two_ports_get_two_daemons_and_the_same_port_twice_is_refused()
    {
        var first = await H2.StartSshdAsync(2201);
        var second = await H2.StartSshdAsync(2202);
        try
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => H2.StartSshdAsync(2201));
            var scan = await H1.ScanAsync(H2.Address6, ScanRequest.ForTcp("2201-2202"));
            Assert.Equal([2201, 2202], scan.PortsIn(ScanProtocol.Tcp, PortState.Open));
        }
        finally
        {
            await first.StopAsync();
            await second.StopAsync();
        }
    }
}
