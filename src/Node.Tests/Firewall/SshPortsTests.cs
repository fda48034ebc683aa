using Nanobox.Node.Firewall;

namespace Nanobox.Node.Tests.Firewall;

public sealed class SshPortsTests
{
    [Fact]
    public void Listening_sockets_are_read_from_proc_net_tcp()
    {
        const string table =
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
            "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n" +
            "   1: 0100007F:08AE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 23456 1 0000000000000000 100 0 0 10 0\n" +
            "   2: 0A00000F:0016 0A000001:C350 01 00000000:00000000 02:000A7B4C 00000000     0        0 34567 2 0000000000000000 20 4 30 10 -1\n";

        Assert.Equal([(22, 12345L), (2222, 23456L)], SshPorts.ParseListeners(table));
    }

    [Fact]
    public void Without_an_sshd_the_configured_ports_or_22_stay_open()
    {
        Assert.Contains(2222, SshPorts.Resolve([2222]));
        Assert.NotEmpty(SshPorts.Resolve([]));
    }
}
