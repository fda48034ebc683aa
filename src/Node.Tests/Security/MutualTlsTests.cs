using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Security;

namespace Nanobox.Node.Tests.Security;

/// <summary>Mutual TLS for real, over loopback TCP.</summary>
public sealed class MutualTlsTests : IDisposable
{
    // Made ten days ago, so it can also issue a certificate that has already expired.
    private readonly ClusterCertificateAuthority _ca = TestPki.NewCa(time: new ManualTime(DateTimeOffset.UtcNow.AddDays(-10)));
    private readonly NodeCredentials _alpha;
    private readonly NodeCredentials _beta;
    private readonly RecordingLogger _log = new();
    private RevocationList _revoked = RevocationList.Empty;

    public MutualTlsTests()
    {
        _alpha = TestPki.NewNode(_ca, "alpha");
        _beta = TestPki.NewNode(_ca, "beta");
    }

    public void Dispose()
    {
        _alpha.Dispose();
        _beta.Dispose();
        _ca.Dispose();
    }

    [Fact]
    public async Task A_good_pair_connects_both_ways_and_learns_each_others_node_id()
    {
        var (client, server) = await HandshakeAsync(Tls(_alpha), Tls(_beta), expected: "beta");

        Assert.Equal("beta", client.PeerNodeId);
        Assert.Equal("alpha", server.PeerNodeId);
        await client.Stream.WriteAsync("ping"u8.ToArray());
        var buffer = new byte[4];
        await server.Stream.ReadExactlyAsync(buffer);
        Assert.Equal("ping"u8.ToArray(), buffer);

        var (reverseClient, reverseServer) = await HandshakeAsync(Tls(_beta), Tls(_alpha), expected: null);
        Assert.Equal("alpha", reverseClient.PeerNodeId);
        Assert.Equal("beta", reverseServer.PeerNodeId);
    }

    [Fact]
    public async Task A_client_from_another_CA_is_refused_and_told_so()
    {
        using var otherCa = TestPki.NewCa();
        using var stranger = TestPki.NewNode(otherCa, "alpha");

        var (client, server) = await HandshakeOutcomesAsync(Tls(stranger, otherCa), Tls(_beta), expected: null);

        Assert.Equal(PeerRefusal.UntrustedChain, Assert.IsType<PeerRefusedException>(server).Refusal);
        Assert.IsType<PeerRefusedException>(client);
        Assert.Contains(_log.Lines, l => l.Contains("UntrustedChain"));
    }

    [Fact]
    public async Task A_server_from_another_CA_is_refused_by_the_client()
    {
        using var otherCa = TestPki.NewCa();
        using var stranger = TestPki.NewNode(otherCa, "beta");

        var (client, _) = await HandshakeOutcomesAsync(Tls(_alpha), Tls(stranger, otherCa), expected: "beta");

        Assert.Equal(PeerRefusal.UntrustedChain, Assert.IsType<PeerRefusedException>(client).Refusal);
    }

    [Fact]
    public async Task A_node_revoked_between_two_handshakes_is_refused_at_the_second()
    {
        await HandshakeAsync(Tls(_alpha), Tls(_beta), expected: "beta");

        _revoked = _revoked.WithNode("alpha");
        var (client, server) = await HandshakeOutcomesAsync(Tls(_alpha), Tls(_beta), expected: "beta");

        Assert.Equal(PeerRefusal.Revoked, Assert.IsType<PeerRefusedException>(server).Refusal);
        Assert.IsType<PeerRefusedException>(client);
    }

    [Fact]
    public async Task An_expired_certificate_is_refused()
    {
        using var expired = TestPki.NewNode(_ca, "alpha", lifetime: TimeSpan.FromDays(1));

        var (_, server) = await HandshakeOutcomesAsync(Tls(expired), Tls(_beta), expected: null);

        Assert.Equal(PeerRefusal.Expired, Assert.IsType<PeerRefusedException>(server).Refusal);
    }

    [Fact]
    public async Task A_server_that_is_not_the_expected_node_is_refused()
    {
        var (client, _) = await HandshakeOutcomesAsync(Tls(_alpha), Tls(_beta), expected: "gamma");

        Assert.Equal(PeerRefusal.UnexpectedNode, Assert.IsType<PeerRefusedException>(client).Refusal);
    }

    [Fact]
    public async Task A_silent_peer_times_out_instead_of_hanging()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var silent = await listener.AcceptTcpClientAsync();

        var tls = new MutualTls(_alpha, new PeerCertificateValidator(_ca.Certificate, _ca.ClusterId), () => _revoked, _log, TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAsync<TimeoutException>(() => tls.ConnectAsync(socket.GetStream(), null, CancellationToken.None));
    }

    private MutualTls Tls(NodeCredentials node, ClusterCertificateAuthority? ca = null)
    {
        ca ??= _ca;
        return new MutualTls(node, new PeerCertificateValidator(ca.Certificate, ca.ClusterId), () => _revoked, _log);
    }

    private static async Task<((Stream Stream, string PeerNodeId) Client, (Stream Stream, string PeerNodeId) Server)> HandshakeAsync(MutualTls client, MutualTls server, string? expected)
    {
        var (clientOutcome, serverOutcome) = await HandshakeOutcomesAsync(client, server, expected);
        return (Assert.IsType<(Stream, string)>(clientOutcome), Assert.IsType<(Stream, string)>(serverOutcome));
    }

    /// <summary>Both sides' results: the secured stream and peer id, or the exception.</summary>
    private static async Task<(object Client, object Server)> HandshakeOutcomesAsync(MutualTls client, MutualTls server, string? expected)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var serverSide = Task.Run(async () =>
        {
            var accepted = await listener.AcceptTcpClientAsync(timeout.Token);
            return await Outcome(() => server.AcceptAsync(accepted.GetStream(), timeout.Token));
        });
        var connection = new TcpClient();
        await connection.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port, timeout.Token);
        var clientSide = Outcome(() => client.ConnectAsync(connection.GetStream(), expected, timeout.Token));
        return (await clientSide, await serverSide);
    }

    private static async Task<object> Outcome(Func<Task<(Stream Stream, string PeerNodeId)>> handshake)
    {
        try
        {
            return await handshake();
        }
        catch (Exception error)
        {
            return error;
        }
    }

    private sealed class RecordingLogger : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines)
            {
                Lines.Add(formatter(state, exception));
            }
        }
    }
}
