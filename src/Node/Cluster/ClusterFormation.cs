using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Admin;
using Nanobox.Node.Cluster.Join;
using Nanobox.Node.Host;
using Nanobox.Node.Security;

namespace Nanobox.Node.Cluster;

/// <summary>
/// Self-forming: nodes configured with the same `cluster.secret` and `cluster.join` list form exactly
/// one cluster, whatever order they start in. Only one node may create it: the one with the lowest
/// address among the list and itself, once it has met `bootstrap_expect` nodes (itself included). Every
/// other node keeps trying to join the listed nodes with the join secret derived from `cluster.secret`,
/// accepting a cluster's CA only when the cluster proves it knows that secret. Until then a waiting
/// node answers TCP on its join port, which is how the creator counts who it has met.
/// </summary>
public sealed partial class ClusterFormation(NodeContext node, ClusterService cluster, ClusterFormationOptions options, ILogger<ClusterFormation> logger)
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(500);
    private static readonly JoinClient Client = new(connectTimeout: TimeSpan.FromSeconds(1), timeout: TimeSpan.FromSeconds(10));

    private TcpListener? _presence;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var token = JoinToken.FromClusterSecret(options.Secret);
        var peers = options.Join.Select(JoinAddress.Parse).Where(peer => !IsSelf(peer)).Distinct().ToList();
        var creator = IsCreator(peers);
        LogWaiting(_logger, options.BootstrapExpect, peers.Count, creator ? "this node" : "another node");
        try
        {
            while (!cancellationToken.IsCancellationRequested && cluster.Runtime is null)
            {
                if (!creator)
                {
                    ShowPresence();
                }

                var met = 1;
                foreach (var peer in peers)
                {
                    try
                    {
                        await cluster.JoinAsync(peer.ToString(), token, Client, beforeStart: HidePresenceAsync, cancellationToken);
                        LogFormed(_logger, "joined", peer.ToString());
                        return;
                    }
                    catch (ClusterException ex) when (ex.InnerException is JoinFailedException { Failure: not (JoinFailure.Unreachable or JoinFailure.TimedOut) })
                    {
                        met++; // it answered on its join port: up, and not (yet) in a cluster that knows our secret
                    }
                    catch (ClusterException)
                    {
                        // Not reachable yet.
                    }
                }

                if (creator && met >= options.BootstrapExpect)
                {
                    await cluster.InitAsync(new ClusterInitRequest(), token, cancellationToken);
                    LogFormed(_logger, "created", $"{met} nodes met");
                    return;
                }

                await Task.Delay(RetryInterval, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (ClusterException ex) when (ex.Kind == ClusterErrorKind.Conflict)
        {
            // Created or joined by hand meanwhile: nothing left to form.
        }
        finally
        {
            await HidePresenceAsync();
        }
    }

    private readonly ILogger _logger = logger;

    private bool IsSelf(JoinAddress peer) =>
        IPAddress.TryParse(peer.Host, out var address) && address.Equals(node.Advertise) && peer.Port == ClusterPorts.Join;

    /// <summary>The lowest address among the listed nodes and this one creates the cluster; every node computes the same.</summary>
    private bool IsCreator(IEnumerable<JoinAddress> peers) =>
        peers.Select(p => IPAddress.TryParse(p.Host, out var a) ? a : null)
            .OfType<IPAddress>()
            .All(peer => Compare(node.Advertise, peer) < 0);

    private static int Compare(IPAddress a, IPAddress b)
    {
        var (x, y) = (a.MapToIPv6().GetAddressBytes(), b.MapToIPv6().GetAddressBytes());
        return x.AsSpan().SequenceCompareTo(y);
    }

    /// <summary>Accepts and closes TCP connections on the join port: all the creator needs to count this node as met.</summary>
    private void ShowPresence()
    {
        if (_presence is not null)
        {
            return;
        }

        try
        {
            var listener = new TcpListener(node.Advertise, ClusterPorts.Join);
            listener.Start();
            _presence = listener;
            _ = AcceptAndCloseAsync(listener);
        }
        catch (SocketException ex)
        {
            LogPresenceFailed(_logger, ex.Message);
        }
    }

    private static async Task AcceptAndCloseAsync(TcpListener listener)
    {
        try
        {
            while (true)
            {
                using var client = await listener.AcceptTcpClientAsync();
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Stopped.
        }
    }

    private Task HidePresenceAsync()
    {
        _presence?.Stop();
        _presence = null;
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Self-forming: waiting for {Expect} nodes among {Peers} listed peers; {Creator} creates the cluster")]
    private static partial void LogWaiting(ILogger logger, int expect, int peers, string creator);

    [LoggerMessage(Level = LogLevel.Information, Message = "Self-forming: {Action} the cluster ({Detail})")]
    private static partial void LogFormed(ILogger logger, string action, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Self-forming: cannot answer on the join port, the creator will not count this node: {Reason}")]
    private static partial void LogPresenceFailed(ILogger logger, string reason);
}
