using System.Net.Sockets;
using Nanobox.Node.Security;

namespace Nanobox.Node.Cluster.Consensus;

/// <summary>
/// Client side of the control request listener: one mTLS connection per request (writes are rare
/// control-plane events, so pooling would buy nothing but state to get wrong).
/// </summary>
public sealed class ControlClient(IStreamSecurity security) : ILeaderForwarder
{
    private static readonly TimeSpan FetchGrace = TimeSpan.FromSeconds(3);

    /// <summary>
    /// A new member's first fetch may reach a voter whose firewall has not let it in yet; the dropped SYN would be
    /// sent again only after 1 s, so the fetch gives that voter up sooner and asks the next one (the leader let it in).
    /// </summary>
    private static readonly TimeSpan FetchConnectTimeout = TimeSpan.FromMilliseconds(400);

    public async Task<ClusterState> ForwardAsync(ControlPeer leader, ClusterCommand command, CancellationToken cancellationToken)
    {
        var request = new ControlRequest(ControlRequestKind.Replicate, new CommandEnvelope(CommandEnvelope.CurrentSchema, command), 0);
        var response = await SendAsync(leader, request, cancellationToken).ConfigureAwait(false);
        return response.Outcome switch
        {
            ControlOutcome.Ok when response.State is not null => response.State,
            ControlOutcome.Rejected => throw new ClusterCommandRejectedException(response.Message ?? "refused by the leader"),
            ControlOutcome.NotLeader => throw new LeaderUnavailableException($"{leader.NodeId} is no longer the leader"),
            ControlOutcome.OutcomeUnknown => throw new WriteOutcomeUnknownException(response.Message ?? "the leader lost its leadership during the write"),
            _ => throw new WriteOutcomeUnknownException($"the leader answered {response.Outcome}: {response.Message}"),
        };
    }

    /// <summary>Asks the leader to sign a renewal of this node's certificate.</summary>
    /// <returns>The new certificate (DER).</returns>
    public async Task<byte[]> SignCertificateAsync(ControlPeer leader, byte[] certificateRequest, CancellationToken cancellationToken)
    {
        var response = await SendAsync(leader, new ControlRequest(ControlRequestKind.SignCertificate, null, 0, certificateRequest), cancellationToken).ConfigureAwait(false);
        return response.Outcome switch
        {
            ControlOutcome.Ok when response.Certificate is { } certificate => certificate,
            ControlOutcome.NotLeader => throw new LeaderUnavailableException($"{leader.NodeId} is no longer the leader"),
            _ => throw new IOException($"{leader.NodeId} did not sign the renewal ({response.Outcome}): {response.Message}"),
        };
    }

    /// <param name="wait">How long the peer may hold the answer until it has a newer state (a long poll); zero answers at once.</param>
    /// <returns>The peer's state when newer than <paramref name="sinceVersion"/>, else null.</returns>
    public async Task<ClusterState?> FetchStateAsync(ControlPeer peer, long sinceVersion, TimeSpan wait, CancellationToken cancellationToken)
    {
        // A peer that vanishes mid-wait (its host cut off) never closes the connection: give up a little after the wait.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(wait + FetchGrace);
        ControlResponse response;
        try
        {
            response = await SendAsync(peer, new ControlRequest(ControlRequestKind.FetchState, null, sinceVersion, WaitMs: (int)wait.TotalMilliseconds), deadline.Token, FetchConnectTimeout).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{peer.NodeId} did not answer a state fetch within {(wait + FetchGrace).TotalSeconds:0.#} s");
        }

        return response.Outcome switch
        {
            ControlOutcome.Ok => response.State,
            ControlOutcome.Unchanged => null,
            _ => throw new IOException($"{peer.NodeId} answered {response.Outcome}: {response.Message}"),
        };
    }

    /// <summary>Asks <paramref name="peer"/> to connect back to this node on <paramref name="ports"/>; one result per port.</summary>
    public async Task<IReadOnlyList<PortReach>> ProbeBackAsync(ControlPeer peer, IReadOnlyList<int> ports, CancellationToken cancellationToken)
    {
        var response = await SendAsync(peer, new ControlRequest(ControlRequestKind.ProbeBack, null, 0, ProbePorts: [.. ports]), cancellationToken).ConfigureAwait(false);
        return response is { Outcome: ControlOutcome.Ok, Probes: { } probes } && probes.Length == ports.Count
            ? probes
            : throw new IOException($"{peer.NodeId} did not probe back ({response.Outcome}): {response.Message}");
    }

    /// <summary>What <paramref name="peer"/>'s agent reports about the app instances it runs.</summary>
    public async Task<System.Text.Json.JsonElement> ListInstancesAsync(ControlPeer peer, CancellationToken cancellationToken)
    {
        var response = await SendAsync(peer, new ControlRequest(ControlRequestKind.ListInstances, null, 0), cancellationToken).ConfigureAwait(false);
        return response is { Outcome: ControlOutcome.Ok, Instances: { } instances }
            ? instances
            : throw new IOException($"{peer.NodeId} did not report its instances ({response.Outcome}): {response.Message}");
    }

    /// <summary>A mutual-TLS connection to <paramref name="peer"/>'s request listener, its certificate pinned to the peer's node id.</summary>
    /// <returns>The secured stream; disposing it closes the connection.</returns>
    /// <param name="connectTimeout">How long the TCP connect may take; null: until <paramref name="cancellationToken"/>.</param>
    internal static async Task<Stream> ConnectAsync(IStreamSecurity security, ControlPeer peer, CancellationToken cancellationToken, TimeSpan? connectTimeout = null)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            using (var connecting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                if (connectTimeout is { } limit)
                {
                    connecting.CancelAfter(limit);
                }

                try
                {
                    await tcp.ConnectAsync((System.Net.IPEndPoint)peer.RequestsEndPoint, connecting.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new IOException($"no answer to a connect within {connectTimeout!.Value.TotalMilliseconds:0} ms");
                }
            }

            // The TLS stream owns the TCP stream, which owns the socket.
            return (await security.ConnectAsync(tcp.GetStream(), peer.NodeId, cancellationToken).ConfigureAwait(false)).Stream;
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    private async Task<ControlResponse> SendAsync(ControlPeer peer, ControlRequest request, CancellationToken cancellationToken, TimeSpan? connectTimeout = null)
    {
        Stream stream;
        try
        {
            stream = await ConnectAsync(security, peer, cancellationToken, connectTimeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException or System.Security.Authentication.AuthenticationException)
        {
            // Nothing was sent: safe to retry against whoever leads next.
            throw new LeaderUnavailableException($"cannot reach {peer.NodeId} at {peer.RequestsEndPoint}: {e.Message}", e);
        }

        await using (stream.ConfigureAwait(false))
        {
            try
            {
                await ControlFraming.WriteAsync(stream, request, ConsensusJsonContext.Default.ControlRequest, cancellationToken).ConfigureAwait(false);
                return await ControlFraming.ReadAsync(stream, ConsensusJsonContext.Default.ControlResponse, cancellationToken).ConfigureAwait(false)
                    ?? throw new EndOfStreamException("the peer closed the connection without answering");
            }
            catch (Exception e) when (e is SocketException or IOException && request.Kind == ControlRequestKind.Replicate)
            {
                throw new WriteOutcomeUnknownException($"the connection to the leader {peer.NodeId} broke during the write: {e.Message}", e);
            }
        }
    }
}
