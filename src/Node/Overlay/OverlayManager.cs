using System.Collections.Immutable;
using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Firewall;
using Nanobox.Node.Host;
using Nanobox.Node.Overlay.Netlink;
using Nanobox.Node.Runtime.Docker;

namespace Nanobox.Node.Overlay;

/// <summary>Where this node's containers join the overlay: the Docker network on the node's bridge, and the block their addresses come from.</summary>
public sealed record OverlayAttachment(string Network, OverlayBlock Block, int Mtu);

/// <summary>
/// Keeps the overlay on this host equal to what membership says, after flannel's vxlan backend: every tick it
/// claims this node's block if it has none (the leader also creates the cluster's overlay and frees the blocks
/// of removed members), announces this node's endpoints through gossip, renders the design from the peers the
/// firewall admits, and makes the kernel match it in one reconcile step. The devices stay when the agent stops,
/// so forwarding goes on through a restart; the next start reconciles what is there.
/// </summary>
public sealed partial class OverlayManager(NodeContext node, DockerEngine docker, ILoggerFactory loggerFactory) : IDisposable
{
    /// <summary>Joins and removals show within a tick; a tick with nothing to change costs three netlink dumps.</summary>
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>The Docker network on the overlay bridge that containers attach to.</summary>
    public const string DockerNetwork = "nanobox";

    private readonly ILogger _logger = loggerFactory.CreateLogger("Nanobox.Overlay");
    private readonly GossipSightings _sightings = new();
    // A leaf lock around the published status (read by the admin API).
    private readonly Lock _statusGate = new();
    private OverlayKernel? _kernel;
    private OverlayStatus? _status;
    private OverlayAttachment? _attachment;
    private OverlayDockerStatus _docker = new(DockerNetwork, OverlayDockerStatus.Unavailable, null);
    private (OverlayNetwork Network, OverlayBlock Block, int Mtu)? _dockerEnsuredFor;
    private string? _lastError;

    /// <summary>Set while the node's containers can join the overlay (its lease is held and the Docker network exists).</summary>
    public OverlayAttachment? Attachment => _attachment;

    public async Task RunAsync(IOverlayCluster cluster, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TickInterval);
        do
        {
            try
            {
                await ReconcileAsync(cluster, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
        while (await WaitForTickAsync(timer, cancellationToken));
    }

    private static async Task<bool> WaitForTickAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>One step: settings and lease, announcement, kernel, Docker network. Failures are logged once per distinct reason and shown by `overlay show`.</summary>
    public async Task ReconcileAsync(IOverlayCluster cluster, CancellationToken cancellationToken)
    {
        try
        {
            await StepAsync(cluster, cancellationToken);
            if (_lastError is not null)
            {
                LogRecovered(_logger);
                _lastError = null;
            }
        }
        catch (Exception ex) when (ex is OverlayException or NetlinkException or ArgumentException or OverlayFullException or Cluster.ClusterException or IOException)
        {
            if (ex.Message != _lastError)
            {
                LogReconcileFailed(_logger, ex.Message);
            }

            _lastError = ex.Message;
            Publish(_status is { } s ? s with { State = OverlayStatus.Failed, Error = ex.Message } : Empty(OverlayStatus.Failed, ex.Message));
        }
    }

    private async Task StepAsync(IOverlayCluster cluster, CancellationToken cancellationToken)
    {
        if (cluster.View() is not { } view || !view.State.Members.ContainsKey(view.SelfId))
        {
            Publish(Empty(OverlayStatus.Waiting, null));
            return;
        }

        if (OverlayNetwork.Of(view.State) is not var (network, _))
        {
            if (view.IsLeader)
            {
                var created = node.Options.Overlay.ToNetwork();
                await cluster.UpdateSectionAsync(_ => created.Put(expectedRevision: 0), cancellationToken);
                LogCreated(_logger, created.Subnet, created.Vni, created.Port);
            }

            Publish(Empty(OverlayStatus.Waiting, "the cluster has no overlay settings yet; the leader writes them"));
            return;
        }

        if (view.IsLeader && network.WithoutLeasesOutside(view.State.Members.Keys) is var kept && !kept.Equals(network))
        {
            // Only a removal frees a block: a dead member keeps its lease, so its addresses never change hands.
            await cluster.UpdateSectionAsync(state => Reread(state).WithoutLeasesOutside(state.Members.Keys).Put(Revision(state)), cancellationToken);
            LogReclaimed(_logger, string.Join(", ", network.Leases.Keys.Except(kept.Leases.Keys)));
            return;
        }

        if (network.BlockOf(view.SelfId) is not { } block)
        {
            await cluster.UpdateSectionAsync(state => Reread(state).WithLease(view.SelfId).Put(Revision(state)), cancellationToken);
            Publish(Empty(OverlayStatus.Waiting, "claiming this node's block of the overlay"));
            return;
        }

        var started = Stopwatch.GetTimestamp();
        var kernel = _kernel ??= new OverlayKernel(RtNetlink.Open());
        var (underlay, underlayMtu) = kernel.FindUnderlay(node.Advertise);
        var peers = Peers(view, network);
        var design = OverlayDesign.Render(network, block, node.Advertise, underlay, underlayMtu, peers);
        var (devices, deviceChanges) = kernel.EnsureDevices(design);
        foreach (var change in deviceChanges)
        {
            LogDeviceChanged(_logger, change);
        }

        var changes = OverlayDiff.Compute(design, kernel.Read(devices));
        if (!changes.IsEmpty)
        {
            kernel.Apply(devices, changes);
            LogEntriesChanged(_logger, changes.FloodAdd.Length, changes.FloodRemove.Length, changes.FdbSet.Length, changes.FdbRemove.Length,
                changes.BridgeAdd.Length, changes.BridgeRemove.Length, changes.NeighbourSet.Length, changes.NeighbourRemove.Length, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        var endpoints = await LocalEndpointsAsync(network, block, design.Mtu, cancellationToken);
        cluster.Announce(new OverlayAnnouncement(new IPEndPoint(node.Advertise, network.Port), network.Vni, block.EncodeEndpoints(endpoints)));
        Publish(new OverlayStatus(
            OverlayStatus.Up,
            network.Subnet,
            block.Network.ToString(),
            block.HostAddress.ToString(),
            node.Advertise.ToString(),
            network.Vni,
            network.Port,
            design.Mtu,
            OverlayDesign.BridgeName,
            OverlayDesign.VxlanName,
            [.. endpoints.Select(e => e.ToString())],
            _docker,
            [.. design.Peers.Select(p => new OverlayPeerStatus(
                p.NodeId,
                view.State.Members.TryGetValue(p.NodeId, out var m) ? m.Name : p.NodeId,
                p.Vtep.ToString(),
                network.BlockOf(p.NodeId)?.Network.ToString(),
                [.. (p.Endpoints ?? []).Select(e => e.ToString())],
                p.Endpoints is not null)).OrderBy(p => p.Name, StringComparer.Ordinal)],
            null,
            DateTimeOffset.UtcNow));
    }

    /// <summary>The peers the firewall admits, each at its recorded underlay address, with the endpoints it gossips.</summary>
    private IEnumerable<OverlayPeer> Peers(OverlayClusterView view, OverlayNetwork network)
    {
        var admitted = FirewallPeers.Admit(view.State, view.SelfId, _sightings.Track(view.Gossip), DateTimeOffset.UtcNow, node.Options.Firewall.DeadPeerGrace);
        foreach (var (id, addresses) in admitted)
        {
            var vtep = addresses.FirstOrDefault(a => a.AddressFamily == node.Advertise.AddressFamily);
            if (vtep is null)
            {
                continue;
            }

            var announced = view.Gossip.FirstOrDefault(m => m.Id == id)?.Meta.OverlayEndpoints;
            var block = network.BlockOf(id);
            ImmutableArray<IPAddress>? endpoints = announced is null ? null : block is null ? [] : [.. block.DecodeEndpoints(announced)];
            yield return new OverlayPeer(id, vtep, endpoints);
        }
    }

    /// <summary>
    /// The host's own overlay address and every container on the Docker network with an address of this block
    /// and the MAC peers derive from it; also makes sure that network exists on the bridge. Without a Docker
    /// engine the host's address is the only endpoint.
    /// </summary>
    private async Task<IReadOnlyList<IPAddress>> LocalEndpointsAsync(OverlayNetwork network, OverlayBlock block, int mtu, CancellationToken cancellationToken)
    {
        var endpoints = new List<IPAddress> { block.HostAddress };
        try
        {
            if (_dockerEnsuredFor != (network, block, mtu))
            {
                var spec = new BridgeNetworkSpec(DockerNetwork, network.SubnetNetwork, block.HostAddress)
                {
                    IpRange = block.Network,
                    BridgeName = OverlayDesign.BridgeName,
                    Mtu = mtu,
                };
                if (await docker.EnsureNetworkAsync(spec, cancellationToken) == NetworkEnsureOutcome.Created)
                {
                    LogDockerNetworkCreated(_logger, DockerNetwork, block.Network.ToString(), OverlayDesign.BridgeName);
                }

                _dockerEnsuredFor = (network, block, mtu);
                _attachment = new OverlayAttachment(DockerNetwork, block, mtu);
                SetDocker(new OverlayDockerStatus(DockerNetwork, OverlayDockerStatus.Ready, null));
            }

            foreach (var endpoint in await docker.ListNetworkEndpointsAsync(DockerNetwork, cancellationToken))
            {
                if (block.NumberOf(endpoint.Address) is not null && endpoint.Mac.Equals(OverlayBlock.MacFor(endpoint.Address)) && !endpoints.Contains(endpoint.Address))
                {
                    endpoints.Add(endpoint.Address);
                }
            }
        }
        catch (DockerEngineException ex)
        {
            _dockerEnsuredFor = null;
            _attachment = null;
            SetDocker(new OverlayDockerStatus(DockerNetwork, ex.Unreachable ? OverlayDockerStatus.Unavailable : OverlayDockerStatus.Failed, ex.Message));
        }

        return endpoints;
    }

    private void SetDocker(OverlayDockerStatus status)
    {
        if (status != _docker)
        {
            if (status.Error is { } error)
            {
                LogDockerProblem(_logger, error);
            }

            _docker = status;
        }
    }

    private static OverlayNetwork Reread(Cluster.Consensus.ClusterState state) =>
        OverlayNetwork.Of(state)?.Network ?? throw new OverlayException("the cluster's overlay settings disappeared while changing them");

    private static long Revision(Cluster.Consensus.ClusterState state) => OverlayNetwork.Of(state)?.Revision ?? 0;

    /// <summary>`nanobox overlay show`.</summary>
    public OverlayStatus Show(bool member)
    {
        lock (_statusGate)
        {
            return member ? _status ?? Empty(OverlayStatus.Waiting, null) : Empty(OverlayStatus.Standalone, null);
        }
    }

    private void Publish(OverlayStatus status)
    {
        lock (_statusGate)
        {
            _status = status;
        }
    }

    private OverlayStatus Empty(string state, string? error) => new(
        state, null, null, null, node.Advertise.ToString(), 0, 0, 0, OverlayDesign.BridgeName, OverlayDesign.VxlanName, [], _docker, [], error, null);

    public void Dispose() => _kernel?.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Overlay: created the cluster's overlay {Subnet}, VNI {Vni}, UDP port {Port}")]
    private static partial void LogCreated(ILogger logger, string subnet, uint vni, int port);

    [LoggerMessage(Level = LogLevel.Information, Message = "Overlay: freed the blocks of removed members {NodeIds}")]
    private static partial void LogReclaimed(ILogger logger, string nodeIds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Overlay: {Change}")]
    private static partial void LogDeviceChanged(ILogger logger, string change);

    [LoggerMessage(Level = LogLevel.Information, Message = "Overlay: peers +{FloodAdded}/-{FloodRemoved}, endpoints +{FdbSet}/-{FdbRemoved}, bridge entries +{BridgeAdded}/-{BridgeRemoved}, neighbours +{NeighboursSet}/-{NeighboursRemoved} ({ElapsedMs:0.###} ms)")]
    private static partial void LogEntriesChanged(ILogger logger, int floodAdded, int floodRemoved, int fdbSet, int fdbRemoved, int bridgeAdded, int bridgeRemoved, int neighboursSet, int neighboursRemoved, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Overlay: Docker network {Network} created on bridge {Bridge} for block {Block}")]
    private static partial void LogDockerNetworkCreated(ILogger logger, string network, string block, string bridge);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Overlay: containers cannot join the overlay yet: {Reason}")]
    private static partial void LogDockerProblem(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Overlay: cannot reconcile: {Reason}")]
    private static partial void LogReconcileFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Overlay: reconciling again")]
    private static partial void LogRecovered(ILogger logger);
}
