using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Security;

namespace Nanobox.Node.Cluster.Consensus;

/// <summary>What the control request listener serves: this node's consensus.</summary>
internal interface IControlRequestHandler
{
    ClusterState State { get; }

    /// <summary>The state once its version exceeds <paramref name="sinceVersion"/>, or the current one after <paramref name="wait"/>.</summary>
    Task<ClusterState> WaitForNewerStateAsync(long sinceVersion, TimeSpan wait, CancellationToken cancellationToken);

    /// <exception cref="LeaderUnavailableException">This node is not the leader.</exception>
    Task<ClusterState> ReplicateAsLeaderAsync(ClusterCommand command, CancellationToken cancellationToken);

    /// <summary>Signs a renewal for <paramref name="peerNodeId"/>, the node id its TLS certificate proved.</summary>
    /// <exception cref="LeaderUnavailableException">This node is not the leader.</exception>
    Task<byte[]> SignCertificateAsync(string peerNodeId, byte[] certificateRequest, CancellationToken cancellationToken);

    /// <summary>The app instances this node's agent runs; null when it reports none (no runtime wired).</summary>
    System.Text.Json.JsonElement? Instances();

    /// <summary>Serves the requests answered from this node's engine rather than from consensus; null: none are served.</summary>
    IPeerDataHandler? PeerData { get; }
}

/// <summary>
/// Requests a node answers from its own Docker engine (images, container logs) rather than from consensus.
/// A streaming kind writes its response and then its stream, and owns the connection to its end.
/// </summary>
internal interface IPeerDataHandler
{
    bool Handles(ControlRequestKind kind);

    /// <summary>Answers <paramref name="request"/> from member <paramref name="peerNodeId"/> (proved by mutual TLS) on <paramref name="connection"/>.</summary>
    /// <returns>Whether the connection may carry another request: false once a stream was written.</returns>
    Task<bool> ServeAsync(ControlRequest request, string peerNodeId, Stream connection, CancellationToken cancellationToken);
}

/// <summary>
/// Serves forwarded writes and state reads on <see cref="ConsensusOptions.RequestsEndPoint"/>, every
/// connection secured by <see cref="IStreamSecurity"/> (mTLS: only cluster nodes get in).
/// </summary>
internal sealed class ControlRequestServer(ConsensusOptions options, IStreamSecurity security, IControlRequestHandler handler, ILogger logger) : IAsyncDisposable
{
    /// <summary>A peer that has not finished its handshake by then is dropped, so half-open connections cannot pile up.</summary>
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The longest a follower's fetch is held waiting for a newer state: a connection per follower, not forever.</summary>
    private static readonly TimeSpan MaxFetchWait = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _stopping = new();
    private TcpListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;

    public void Start()
    {
        _listener = new TcpListener(options.RequestsEndPoint);
        _listener.Start();
        _acceptLoop = AcceptLoopAsync(_listener, _stopping.Token);
    }

    private async Task AcceptLoopAsync(TcpListener listener, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException && stopping.IsCancellationRequested)
            {
                return;
            }

            _ = ServeAsync(client, stopping);
        }
    }

    private async Task ServeAsync(TcpClient client, CancellationToken stopping)
    {
        using var _ = client;
        var remote = client.Client.RemoteEndPoint?.ToString() ?? "?";
        Stream stream;
        string peer;
        try
        {
            using var handshake = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            handshake.CancelAfter(HandshakeTimeout);
            (stream, peer) = await security.AcceptAsync(client.GetStream(), handshake.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (!stopping.IsCancellationRequested)
        {
            ConsensusLog.ControlPeerRefused(logger, remote, e.Message);
            return;
        }
        catch (Exception)
        {
            return;
        }

        await using (stream.ConfigureAwait(false))
        {
            try
            {
                while (await ControlFraming.ReadAsync(stream, ConsensusJsonContext.Default.ControlRequest, stopping).ConfigureAwait(false) is { } request)
                {
                    if (handler.PeerData is { } data && data.Handles(request.Kind))
                    {
                        if (await data.ServeAsync(request, peer, stream, stopping).ConfigureAwait(false))
                            continue;
                        break;
                    }

                    var response = request.Kind == ControlRequestKind.ProbeBack
                        ? await ProbeBackAsync(client.Client.RemoteEndPoint, request.ProbePorts, stopping).ConfigureAwait(false)
                        : await HandleAsync(request, peer, stopping).ConfigureAwait(false);
                    await ControlFraming.WriteAsync(stream, response, ConsensusJsonContext.Default.ControlResponse, stopping).ConfigureAwait(false);
                }
            }
            catch (InvalidDataException e) when (!stopping.IsCancellationRequested)
            {
                // Undecodable or oversized: say why, then close (the stream may be mid-frame).
                ConsensusLog.ControlRequestFailed(logger, peer, e);
                await TryRefuseAsync(stream, $"malformed request: {e.Message}", stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                ConsensusLog.ControlRequestFailed(logger, peer, e);
            }
            catch (Exception)
            {
                // Shutting down: the peer retries elsewhere.
            }
        }
    }

    private static async Task TryRefuseAsync(Stream stream, string message, CancellationToken stopping)
    {
        try
        {
            await ControlFraming.WriteAsync(stream, new ControlResponse(ControlOutcome.Error, null, message), ConsensusJsonContext.Default.ControlResponse, stopping).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // The peer is gone already.
        }
    }

    private async Task<ControlResponse> HandleAsync(ControlRequest request, string peer, CancellationToken stopping)
    {
        switch (request.Kind)
        {
            case ControlRequestKind.SignCertificate when request.CertificateRequest is { } csr:
                try
                {
                    return new ControlResponse(ControlOutcome.Ok, null, null, await handler.SignCertificateAsync(peer, csr, stopping).ConfigureAwait(false));
                }
                catch (LeaderUnavailableException e)
                {
                    return new ControlResponse(ControlOutcome.NotLeader, null, e.Message);
                }
                catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or ClusterCommandRejectedException)
                {
                    return new ControlResponse(ControlOutcome.Rejected, null, e.Message);
                }
            case ControlRequestKind.ListInstances:
                return handler.Instances() is { } instances
                    ? new ControlResponse(ControlOutcome.Ok, null, null, Instances: instances)
                    : new ControlResponse(ControlOutcome.Error, null, "this node's agent does not report instances");
            case ControlRequestKind.FetchState:
                var state = request.WaitMs > 0
                    ? await handler.WaitForNewerStateAsync(request.SinceVersion, TimeSpan.FromMilliseconds(Math.Min(request.WaitMs, MaxFetchWait.TotalMilliseconds)), stopping).ConfigureAwait(false)
                    : handler.State;
                return state.Version > request.SinceVersion
                    ? new ControlResponse(ControlOutcome.Ok, state, null)
                    : new ControlResponse(ControlOutcome.Unchanged, null, null);
            case ControlRequestKind.Replicate when request.Command is { } envelope:
                if (envelope.Schema > CommandEnvelope.CurrentSchema)
                    return new ControlResponse(ControlOutcome.Rejected, null, $"command schema {envelope.Schema} is newer than the leader's {CommandEnvelope.CurrentSchema}");
                using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping))
                try
                {
                    timeout.CancelAfter(options.WriteTimeout);
                    return new ControlResponse(ControlOutcome.Ok, await handler.ReplicateAsLeaderAsync(envelope.Command, timeout.Token).ConfigureAwait(false), null);
                }
                catch (ClusterCommandRejectedException e)
                {
                    return new ControlResponse(ControlOutcome.Rejected, null, e.Message);
                }
                catch (LeaderUnavailableException e)
                {
                    return new ControlResponse(ControlOutcome.NotLeader, null, e.Message);
                }
                catch (WriteOutcomeUnknownException e)
                {
                    return new ControlResponse(ControlOutcome.OutcomeUnknown, null, e.Message);
                }
                catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                {
                    return new ControlResponse(ControlOutcome.OutcomeUnknown, null, $"not committed within {options.WriteTimeout.TotalSeconds:0.#} s");
                }
            default:
                return new ControlResponse(ControlOutcome.Error, null, "malformed request");
        }
    }

    /// <summary>Few enough for any real check (control plus SSH ports), too few to scan with.</summary>
    private const int MaxProbePorts = 8;

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    private static async Task<ControlResponse> ProbeBackAsync(System.Net.EndPoint? remote, int[]? ports, CancellationToken stopping)
    {
        if (remote is not System.Net.IPEndPoint requester || ports is null || ports.Length is 0 or > MaxProbePorts || ports.Any(p => p is < 1 or > ushort.MaxValue))
        {
            return new ControlResponse(ControlOutcome.Error, null, $"a probe-back names 1 to {MaxProbePorts} TCP ports");
        }

        var address = requester.Address.IsIPv4MappedToIPv6 ? requester.Address.MapToIPv4() : requester.Address;
        var results = await Task.WhenAll(ports.Select(port => ProbeAsync(new System.Net.IPEndPoint(address, port), stopping))).ConfigureAwait(false);
        return new ControlResponse(ControlOutcome.Ok, null, null, Probes: results);
    }

    private static async Task<PortReach> ProbeAsync(System.Net.IPEndPoint target, CancellationToken stopping)
    {
        using var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(ProbeTimeout);
        try
        {
            await socket.ConnectAsync(target, timeout.Token).ConfigureAwait(false);
            return PortReach.Open;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return PortReach.Closed;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException && !stopping.IsCancellationRequested)
        {
            return PortReach.Filtered;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Stop();
        await _acceptLoop.ConfigureAwait(false);
        _stopping.Dispose();
    }
}
