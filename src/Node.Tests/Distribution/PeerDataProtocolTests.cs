using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Runtime.Distribution;
using Nanobox.Node.Runtime.Docker;
using Nanobox.Node.Storage;
using Nanobox.Node.Tests.Consensus;
using Nanobox.Node.Tests.Join;
using Xunit.Abstractions;

namespace Nanobox.Node.Tests.Distribution;

/// <summary>
/// The image and log requests on a real request listener over mutual TLS, against an engine that is not
/// there: every malformed or hostile request is refused with a clear error before the engine is asked, a
/// well-formed one reaches the engine (and says it is down), and a non-member gets nothing.
/// </summary>
public sealed class PeerDataProtocolTests : IAsyncLifetime
{
    private const string Pin = "sha256:2ab6b1ec9b9d3c2b6bb1d5e8a5a2d0e0b3b7b0ec16cb5d6ce9f3d7e1a2b3c4d5";
    private const string EngineDown = "is not reachable";

    private readonly TestPki _pki = new();
    private readonly TestLogSink _logs;
    private readonly ILoggerFactory _loggerFactory;
    private readonly DockerEngine _engine;
    private readonly PeerDataServer _data;
    private readonly Handler _handler;
    private readonly ControlRequestServer _server;
    private readonly TestTls _member;

    public PeerDataProtocolTests(ITestOutputHelper output)
    {
        _logs = new TestLogSink(output);
        _loggerFactory = _logs.CreateFactory();
        _engine = new DockerEngine(new DockerEngineOptions { Endpoint = $"unix:///run/nanobox-test-{Guid.NewGuid():N}/docker.sock", NodeId = NodeIdentity.NewId() }, _loggerFactory);
        _data = new PeerDataServer(_engine, _loggerFactory);
        _handler = new Handler(_data);
        var options = new ConsensusOptions
        {
            NodeId = "server",
            DataDir = Path.GetTempPath(),
            ControlEndPoint = new IPEndPoint(IPAddress.Loopback, FreePort()),
            RequestsEndPoint = new IPEndPoint(IPAddress.Loopback, FreePort()),
        };
        Peer = new ControlPeer("server", options.RequestsEndPoint);
        _server = new ControlRequestServer(options, new TestTls(_pki.Ca, _pki.Issue("server")), _handler, _loggerFactory.CreateLogger("test"));
        _member = new TestTls(_pki.Ca, _pki.Issue("member"));
    }

    private ControlPeer Peer { get; }

    public Task InitializeAsync()
    {
        _server.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _data.Dispose();
        _engine.Dispose();
        _loggerFactory.Dispose();
        _pki.Dispose();
    }

    [Theory]
    [InlineData("../../etc/passwd", "is not an image reference")]
    [InlineData("", "no image was given")]
    [InlineData("Busybox:Latest", "is not an image reference")]
    [InlineData("busybox:latest", EngineDown)]
    [InlineData(Pin, EngineDown)]
    public async Task Find_refuses_what_is_not_an_image_reference_and_asks_the_engine_about_the_rest(string image, string expected)
    {
        var refused = await Assert.ThrowsAsync<DockerEngineException>(() => PeerDataClient.FindImageAsync(_member, Peer, "h9", image, default));

        Assert.StartsWith("h9: ", refused.Message);
        Assert.Contains(expected, refused.Message);
    }

    [Theory]
    [InlineData("busybox:latest", "is not pinned")]
    [InlineData("busybox", "is not pinned")]
    [InlineData("sha256:abc", "is not pinned")]
    [InlineData(Pin + "\n", "is not an image reference")]
    [InlineData("busybox@" + Pin, EngineDown)]
    [InlineData(Pin, EngineDown)]
    public async Task Export_names_a_pin_or_is_refused(string image, string expected)
    {
        var refused = await Assert.ThrowsAsync<DockerEngineException>(() => PeerDataClient.OpenExportAsync(_member, Peer, "h9", image, default));

        Assert.Contains(expected, refused.Message);
    }

    [Theory]
    [InlineData("../../x", 10, "is not a container name")]
    [InlineData("", null, "is not a container name")]
    [InlineData("nanobox.app.web.main.0", -1, "tail must be 0 or more")]
    [InlineData("nanobox.app.web.main.0", null, EngineDown)]
    public async Task Logs_name_a_container_and_a_sane_tail_or_are_refused(string container, int? tail, string expected)
    {
        var lines = PeerDataClient.ReadLogsAsync(_member, Peer, "h9", container, new ContainerLogOptions { Tail = tail, Follow = true }, default);

        var refused = await Assert.ThrowsAsync<DockerEngineException>(async () => await lines.ToListAsync());

        Assert.Contains(expected, refused.Message);
    }

    [Fact]
    public async Task A_node_with_a_certificate_from_another_cluster_gets_nothing()
    {
        using var otherCluster = new TestPki("another cluster");
        var stranger = new TestTls(otherCluster.Ca, otherCluster.Issue("stranger"));

        await Assert.ThrowsAsync<IOException>(() => PeerDataClient.FindImageAsync(stranger, Peer, "h9", "busybox:latest", default));
        await Assert.ThrowsAsync<IOException>(() => PeerDataClient.OpenExportAsync(stranger, Peer, "h9", Pin, default));
    }

    [Fact]
    public async Task An_oversized_frame_gets_an_error_frame_and_the_connection_closes()
    {
        await using var connection = await ConnectAsync();
        var header = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(header, (16 << 20) + 1);
        await connection.WriteAsync(header);

        var answer = await ControlFraming.ReadAsync(connection, ConsensusJsonContext.Default.ControlResponse, Timeout());

        Assert.Equal(ControlOutcome.Error, answer!.Outcome);
        Assert.Contains("malformed request", answer.Message);
        Assert.Null(await ControlFraming.ReadAsync(connection, ConsensusJsonContext.Default.ControlResponse, Timeout()));
    }

    /// <summary>
    /// Mutations of valid image and log requests (bit flips, truncations, wrong lengths, noise, splices), from a
    /// fixed seed: each ends as an answer (an error, for all but the lucky few still well-formed) or a closed
    /// connection, never anything else; consensus is never asked to write; the server still answers afterwards.
    /// </summary>
    [Fact]
    public async Task Mutated_requests_get_an_answer_or_a_closed_connection_and_change_nothing()
    {
        var valid = new[]
        {
            new ControlRequest(ControlRequestKind.FindImage, null, 0, Image: "nanobox-lab/busybox:latest"),
            new ControlRequest(ControlRequestKind.ExportImage, null, 0, Image: Pin),
            new ControlRequest(ControlRequestKind.ReadLogs, null, 0, Container: "nanobox.app.web.main.0", Logs: new ContainerLogOptions { Follow = true, Tail = 10 }),
        };
        var random = new Random(20301206);
        int answered = 0, closed = 0;
        for (var i = 0; i < 240; i++)
        {
            var frame = JoinFuzzTests.Mutate(Frame(valid[i % valid.Length]), random, i / valid.Length);
            await using var connection = await ConnectAsync();
            await connection.WriteAsync(frame);
            await ((System.Net.Security.SslStream)connection).ShutdownAsync();

            ControlResponse? answer;
            try
            {
                answer = await ControlFraming.ReadAsync(connection, ConsensusJsonContext.Default.ControlResponse, Timeout());
            }
            catch (IOException)
            {
                answer = null;
            }

            if (answer is null)
            {
                closed++;
                continue;
            }

            answered++;
            Assert.True(answer.Outcome is ControlOutcome.Error or ControlOutcome.Unchanged, $"round {i}: {answer}");
            Assert.False(string.IsNullOrWhiteSpace(answer.Message) && answer.Outcome == ControlOutcome.Error, $"round {i}: an error without a reason");
        }

        _logs.Output.WriteLine($"answered {answered}, closed {closed}");
        Assert.True(answered > 50 && closed > 20, "the mutations should reach both the decoder and the request checks");
        Assert.Equal(0, _handler.Writes);
        var still = await Assert.ThrowsAsync<DockerEngineException>(() => PeerDataClient.FindImageAsync(_member, Peer, "h9", "busybox:latest", default));
        Assert.Contains(EngineDown, still.Message);
    }

    private async Task<Stream> ConnectAsync()
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync((IPEndPoint)Peer.RequestsEndPoint);
        return (await _member.ConnectAsync(tcp.GetStream(), null, Timeout())).Stream;
    }

    private static byte[] Frame(ControlRequest request)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(request, ConsensusJsonContext.Default.ControlRequest);
        var frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
        body.CopyTo(frame, 4);
        return frame;
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token;

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>A node's consensus that holds no state and counts any attempt to write through it.</summary>
    private sealed class Handler(PeerDataServer data) : IControlRequestHandler
    {
        public int Writes;

        public ClusterState State => ClusterState.Empty;

        public Task<ClusterState> WaitForNewerStateAsync(long sinceVersion, TimeSpan wait, CancellationToken cancellationToken) => Task.FromResult(State);

        public IPeerDataHandler? PeerData => data;

        public System.Text.Json.JsonElement? Instances() => null;

        public Task<ClusterState> ReplicateAsLeaderAsync(ClusterCommand command, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Writes);
            throw new LeaderUnavailableException("test");
        }

        public Task<byte[]> SignCertificateAsync(string peerNodeId, byte[] certificateRequest, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Writes);
            throw new LeaderUnavailableException("test");
        }
    }
}
