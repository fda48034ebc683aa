using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Cluster.Join;
using Nanobox.Node.Security;
using Nanobox.Node.Storage;
using Nanobox.Node.Tests.Consensus;
using Xunit.Abstractions;
using TestPki = Nanobox.Node.Tests.Security.TestPki;

namespace Nanobox.Node.Tests.Join;

/// <summary>The leader's side as the cluster layer will wire it: <see cref="JoinAdmission"/> with the CA key, recording what reached it.</summary>
internal sealed class AdmittingAuthority(ClusterCertificateAuthority ca, JoinToken token) : IJoinAuthority
{
    public static readonly JoinedMember Leader = new("leader-id", "leader", "127.0.0.1");

    private readonly JoinAdmission _admission = new(token, ca);

    public RevocationList Revocations { get; set; } = RevocationList.Empty;

    /// <summary>When set, every decision fails with it, as when no leader is reachable.</summary>
    public Exception? Failure { get; set; }

    public byte[] GossipKeys { get; } = new GossipKeyRing([GossipKey.Generate()]).Serialize();

    public byte[] ClusterSecrets { get; } = [42, 43];

    public ConcurrentQueue<JoinRequest> Requests { get; } = new();

    public byte[] CaCertificateDer => ca.Certificate.RawData;

    public Task<JoinOutcome> AdmitAsync(JoinRequest request, byte[] serverCertificateDer, byte[] serverNonce, byte[]? clientCertificateDer, CancellationToken cancellationToken)
    {
        Requests.Enqueue(request);
        if (Failure is not null)
        {
            return Task.FromException<JoinOutcome>(Failure);
        }

        var (certificate, error) = _admission.Admit(request, serverCertificateDer, serverNonce, Revocations);
        JoinOutcome outcome = error is null
            ? new JoinResponse(certificate!, ca.Certificate.RawData, GossipKeys, [Leader], ca.ClusterId, ClusterSecrets)
            : error;
        return Task.FromResult(outcome);
    }
}

/// <summary>A join server on loopback in front of an <see cref="AdmittingAuthority"/>, with short limits so hostile-client tests run in seconds.</summary>
internal sealed class JoinLab : IAsyncDisposable
{
    /// <summary>2 s: short, yet enough for an honest joiner's first chain check in a cold test process.</summary>
    public static readonly JoinServerOptions FastLimits = new()
    {
        HandshakeTimeout = TimeSpan.FromSeconds(2),
        RequestTimeout = TimeSpan.FromSeconds(2),
        AdmitTimeout = TimeSpan.FromSeconds(2),
        MaxConnections = 4,
    };

    public static readonly IPAddress[] JoinerAddresses = [IPAddress.Parse("127.0.0.1"), IPAddress.Parse("fd00::42")];

    private readonly ILoggerFactory _logs;

    public JoinLab(ITestOutputHelper output, JoinServerOptions? options = null)
    {
        Log = new TestLogSink(output);
        _logs = Log.CreateFactory();
        Ca = TestPki.NewCa("cluster-a");
        ServerCredentials = TestPki.NewNode(Ca, "server-node");
        Token = JoinToken.Create(Ca.Certificate.RawData);
        Authority = new AdmittingAuthority(Ca, Token);
        Server = new JoinServer(new IPEndPoint(IPAddress.Loopback, 0), ServerCredentials, Authority, _logs.CreateLogger<JoinServer>(), options ?? FastLimits);
        Server.Start();
    }

    public TestLogSink Log { get; }

    public ClusterCertificateAuthority Ca { get; }

    public NodeCredentials ServerCredentials { get; }

    public JoinToken Token { get; }

    public AdmittingAuthority Authority { get; }

    public JoinServer Server { get; }

    public string Address => Server.LocalEndPoint.ToString();

    public Task<JoinResult> JoinAsync(JoinToken? token = null, string? nodeId = null) =>
        new JoinClient().JoinAsync(Address, token ?? Token, nodeId ?? NodeIdentity.NewId(), "web-1", JoinerAddresses, CancellationToken.None);

    /// <summary>A TCP connection that has not said anything yet.</summary>
    public async Task<TcpClient> ConnectAsync()
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(Server.LocalEndPoint);
        return tcp;
    }

    /// <summary>TLS as any client would do it, trusting whatever the server presents. Disposing the stream closes the connection.</summary>
    public async Task<SslStream> ConnectTlsAsync()
    {
        var tcp = await ConnectAsync();
        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "nanobox", EnabledSslProtocols = SslProtocols.Tls13 });
        return ssl;
    }

    /// <summary>Announces a frame of <paramref name="length"/> bytes, and sends none of it.</summary>
    public static async Task WriteFrameHeaderAsync(Stream stream, uint length)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(header, length);
        await stream.WriteAsync(header);
        await stream.FlushAsync();
    }

    /// <summary>Waits for a server log line containing <paramref name="text"/>.</summary>
    public async Task<string> LoggedAsync(string text)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < until)
        {
            var line = Log.Lines.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            if (line is not null)
            {
                return line;
            }

            await Task.Delay(20);
        }

        throw new Xunit.Sdk.XunitException($"the server never logged '{text}'");
    }

    /// <summary>Reads and drops whatever the server sends until it closes; fails if it is still open after <paramref name="within"/>.</summary>
    public static async Task<TimeSpan> AssertClosedWithinAsync(Stream stream, TimeSpan within)
    {
        var started = DateTime.UtcNow;
        using var timeout = new CancellationTokenSource(within);
        var buffer = new byte[4096];
        try
        {
            while (await stream.ReadAsync(buffer, timeout.Token) > 0)
            {
            }
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"the server kept the connection open for more than {within.TotalSeconds} s");
        }
        catch (IOException)
        {
            // A reset is a close too.
        }

        return DateTime.UtcNow - started;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        ServerCredentials.Dispose();
        Ca.Dispose();
        _logs.Dispose();
    }
}
