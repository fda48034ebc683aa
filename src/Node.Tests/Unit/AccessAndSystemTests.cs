using System.Net.Sockets;
using System.Text;
using Nanobox.Node.Admin;
using Nanobox.Node.Host;

namespace Nanobox.Node.Tests.Unit;

public sealed class AdminAccessPolicyTests
{
    private static readonly AdminAccessPolicy Policy = new(agentUserId: 0, nanoboxGroupId: 990);

    [Theory]
    [InlineData(0u, 0u, true)]
    [InlineData(1000u, 990u, true)]
    [InlineData(1000u, 1000u, false)]
    public void Root_and_the_nanobox_group_are_allowed_others_are_not(uint uid, uint gid, bool allowed) =>
        Assert.Equal(allowed, Policy.IsAllowed(new PeerCredentials(42, uid, gid), []));

    [Fact]
    public void A_supplementary_nanobox_group_is_enough() =>
        Assert.True(Policy.IsAllowed(new PeerCredentials(42, 1000, 1000), [27, 990]));

    [Fact]
    public void Without_a_nanobox_group_only_root_and_the_agent_user_may_connect()
    {
        var policy = new AdminAccessPolicy(agentUserId: 1001, nanoboxGroupId: null);

        Assert.True(policy.IsAllowed(new PeerCredentials(1, 1001, 1001), []));
        Assert.False(policy.IsAllowed(new PeerCredentials(1, 1000, 990), [990]));
    }

    [Fact]
    public void Peer_credentials_are_read_from_a_real_unix_socket()
    {
        var path = Path.Combine(Path.GetTempPath(), $"nbx-peer-{Guid.NewGuid():N}.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        try
        {
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            client.Connect(new UnixDomainSocketEndPoint(path));
            using var accepted = listener.Accept();

            var peer = PeerCredentials.Read(accepted);

            Assert.NotNull(peer);
            Assert.Equal(Environment.ProcessId, peer.Value.ProcessId);
            Assert.Equal(Libc.geteuid(), peer.Value.UserId);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

public sealed class UnixGroupsTests
{
    [Fact]
    public void Finds_a_group_id_in_etc_group_text()
    {
        const string etcGroup = "root:x:0:\ndocker:x:998:alice\nnanobox:x:997:bob,carol\n";

        Assert.Equal(997u, UnixGroups.FindGroupId(etcGroup, "nanobox"));
        Assert.Equal(0u, UnixGroups.FindGroupId(etcGroup, "root"));
        Assert.Null(UnixGroups.FindGroupId(etcGroup, "nano"));
    }
}

public sealed class SystemdNotifierTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Ready_and_stopping_reach_the_notify_socket(bool abstractNamespace)
    {
        var name = $"nbx-notify-{Guid.NewGuid():N}";
        var path = abstractNamespace ? "@" + name : Path.Combine(Path.GetTempPath(), name + ".sock");
        using var receiver = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        receiver.Bind(new UnixDomainSocketEndPoint(abstractNamespace ? "\0" + name : path));
        receiver.ReceiveTimeout = 5000;
        try
        {
            var notifier = new SystemdNotifier(path);
            notifier.Ready("serving");
            notifier.Stopping();

            var buffer = new byte[1024];
            var ready = Encoding.UTF8.GetString(buffer, 0, receiver.Receive(buffer));
            var stopping = Encoding.UTF8.GetString(buffer, 0, receiver.Receive(buffer));

            Assert.Contains("READY=1", ready.Split('\n'));
            Assert.Contains($"MAINPID={Environment.ProcessId}", ready.Split('\n'));
            Assert.Equal("STOPPING=1", stopping);
        }
        finally
        {
            if (!abstractNamespace)
            {
                File.Delete(path);
            }
        }
    }

    [Fact]
    public void Without_a_notify_socket_nothing_is_sent() => Assert.False(new SystemdNotifier(null).IsEnabled);
}
