using System.Collections.Immutable;
using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Cluster.Membership;
using Nanobox.Node.Host;
using Nanobox.Node.Storage;

namespace Nanobox.Node.Firewall;

/// <summary>
/// Keeps the kernel's `inet nanobox` table equal to what membership and policy ask for: a whole-table
/// replacement, confirmed or rolled back, when the rules change; a set-element update when only the
/// peers do. Never touches any other table, and never removes its own except when told to.
/// </summary>
public sealed partial class FirewallManager(NodeContext node, INodeStore store, ILoggerFactory loggerFactory) : IDisposable
{
    /// <summary>sshd rarely moves; /proc is read at most this often.</summary>
    private static readonly TimeSpan SshRediscoverInterval = TimeSpan.FromSeconds(10);

    /// <summary>How many peers commit-confirm asks to probe back: enough to tell "me" from "them", cheap at any cluster size.</summary>
    private const int ProbingPeers = 3;

    /// <summary>The whole confirmation, probes included; with the rollback it stays well inside the promised 10 s.</summary>
    private static readonly TimeSpan ConfirmTimeout = TimeSpan.FromSeconds(5);

    private readonly ILogger _logger = loggerFactory.CreateLogger("Nanobox.Firewall");
    // Lock order: taken after ClusterService's gate (lock-down, join sessions), never before; nothing under it waits on that gate.
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly GossipSightings _sightings = new();
    private readonly Dictionary<IPAddress, DateTimeOffset> _cuts = [];
    private readonly SemaphoreSlim _wake = new(0, 1);
    private FirewallKernel? _kernel;
    private Applied? _applied;
    private (string Key, FirewallChange Rollback)? _rejected;
    private FirewallChange? _lastChange;
    private string? _lastError;
    private (IReadOnlyList<int> Ports, DateTimeOffset At)? _ssh;

    /// <summary>
    /// A join or removal reaches the sets within this plus the state's own propagation (the target is 1 s in all).
    /// Tests stretch it to tell a woken reconcile from a periodic one.
    /// </summary>
    internal TimeSpan ReconcileInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    private FirewallOptions Options => node.Options.Firewall;

    /// <summary>What the kernel holds, as far as this process applied it.</summary>
    private sealed record Applied(string Key, FirewallDesign Design, ImmutableSortedDictionary<string, ImmutableArray<IPAddress>> Admitted, PeerAddresses Peers)
    {
        public Applied(string key, FirewallDesign design, ImmutableSortedDictionary<string, ImmutableArray<IPAddress>> admitted)
            : this(key, design, admitted, FirewallPeers.Addresses(admitted))
        {
        }
    }

    /// <summary>
    /// At boot, before the agent talks to anyone: the last ruleset that passed commit-confirm goes back
    /// in (one transaction, replacing what a previous run left, so there is no open moment).
    /// </summary>
    public void RestoreLastGood()
    {
        var state = LoadState();
        if (!state.Enabled || state.LastGood is null)
        {
            return;
        }

        try
        {
            Kernel().Run(state.LastGood);
            LogRestored(_logger);
        }
        catch (FirewallException ex)
        {
            // What a previous run left stays in place (the table outlives the agent): closed, not open.
            _lastError = ex.Message;
            LogRestoreFailed(_logger, ex.Message);
        }
    }

    /// <summary>
    /// `cluster init` / `join`: locks the host down before its cluster listeners start, with the members
    /// the join answer named as the first peers.
    /// </summary>
    /// <exception cref="FirewallException">The kernel refused the ruleset: the caller must not go on.</exception>
    public async Task LockDownAsync(IReadOnlyDictionary<string, IPAddress> initialPeers, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var state = LoadState();
            if (!state.Enabled)
            {
                return;
            }

            var admitted = initialPeers.Where(p => p.Key != node.Identity.Id).ToImmutableSortedDictionary(p => p.Key, p => ImmutableArray.Create(p.Value), StringComparer.Ordinal);
            var outcome = await ReplaceAsync(Design(FirewallPolicy.Empty, state.NodeRules, node.Options.Overlay.Port), admitted, cluster: null, view: null, cancellationToken);
            if (outcome.Outcome != FirewallChange.RolledBack)
            {
                return;
            }

            throw new FirewallException($"the firewall could not be locked down: {outcome.Reason}");
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Undoes <see cref="LockDownAsync"/> when creating or joining failed: the node is standalone again and changes nothing in the kernel.</summary>
    public void Release()
    {
        _applied = null;
        _rejected = null;
        SaveState(LoadState() with { LastGood = null });
        try
        {
            Kernel().RemoveTable();
        }
        catch (FirewallException ex)
        {
            LogRemoveFailed(_logger, ex.Message);
        }
    }

    /// <summary>Asks the loop to reconcile now rather than at its next tick: the cluster's state changed.</summary>
    public void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken: the next reconcile sees every change so far.
        }
    }

    /// <summary>Reconciles every <see cref="ReconcileInterval"/>, and at once when woken, until cancelled.</summary>
    public async Task RunAsync(IFirewallCluster cluster, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await _wake.WaitAsync(ReconcileInterval, cancellationToken);
                try
                {
                    await ReconcileAsync(cluster, cancellationToken);
                }
                catch (FirewallException ex) when (ex.Message != _lastError)
                {
                    _lastError = ex.Message;
                    LogReconcileFailed(_logger, ex.Message);
                }
                catch (FirewallException)
                {
                    // Same failure as last round: said once.
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: the table stays, closed to strangers and open to SSH and peers.
        }
    }

    /// <summary>Brings the kernel to the desired state now and says what happened.</summary>
    public async Task<FirewallChange> ReconcileAsync(IFirewallCluster cluster, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var state = LoadState();
            // Until this node holds a state that lists it (a new member's first fetch), it knows too little
            // to judge anyone: what LockDownAsync let in stays.
            if (!state.Enabled || cluster.View() is not { } view || !view.State.Members.ContainsKey(view.SelfId))
            {
                return FirewallChange.Nothing;
            }

            var design = Design(FirewallPolicy.Of(view.State).Policy, state.NodeRules, OverlayPort(view));
            var admitted = FirewallPeers.Admit(view.State, view.SelfId, _sightings.Track(view.Gossip), DateTimeOffset.UtcNow, Options.DeadPeerGrace);
            var key = Key(design);
            var change = _applied is null || (key != _applied.Key && key != _rejected?.Key)
                ? await ReplaceAsync(design, admitted, cluster, view, cancellationToken)
                : UpdatePeers(view.State, admitted);
            _lastError = null;
            // The desired design was tried and rolled back, by this call or an earlier one (the loop, woken by the
            // same state change, may have been first): a caller asking about it hears the rollback, not "nothing".
            return _rejected is { } rejected && rejected.Key == key ? rejected.Rollback : change;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>`nanobox firewall disable`: removes the table and stops managing it until <see cref="EnableAsync"/>.</summary>
    public async Task DisableAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            Kernel().RemoveTable();
            SaveState(LoadState() with { Enabled = false });
            _applied = null;
            _lastChange = new FirewallChange(DateTimeOffset.UtcNow, FirewallChange.Disabled, "disabled by an operator", 0);
            LogDisabled(_logger);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task EnableAsync(IFirewallCluster cluster, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            SaveState(LoadState() with { Enabled = true });
        }
        finally
        {
            _gate.Release();
        }

        await ReconcileAsync(cluster, cancellationToken);
    }

    /// <summary>Replaces this node's own rules, then reconciles; returns the outcome of applying them.</summary>
    public async Task<FirewallChange> SetNodeRulesAsync(IFirewallCluster cluster, Func<FirewallPolicy, FirewallPolicy> change, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var state = LoadState();
            SaveState(state with { NodeRules = change(state.NodeRules) });
        }
        finally
        {
            _gate.Release();
        }

        return await ReconcileAsync(cluster, cancellationToken);
    }

    public FirewallPolicy NodeRules => LoadState().NodeRules;

    /// <summary>`nanobox firewall show`: what is wanted, what the kernel holds, and the last change.</summary>
    public FirewallStatus Status(IFirewallCluster cluster)
    {
        var state = LoadState();
        var view = cluster.View();
        KernelTable? table = null;
        string? error = _lastError;
        try
        {
            table = Kernel().Read();
        }
        catch (FirewallException ex)
        {
            error = ex.Message;
        }

        var clusterRules = view is null ? FirewallPolicy.Empty : FirewallPolicy.Of(view.State).Policy;
        var applied = table?.Comments.ToHashSet() ?? [];
        var rules = clusterRules.Rules.Select(r => ("cluster", r)).Concat(state.NodeRules.Rules.Select(r => ("node", r)))
            .Select(x => FirewallRuleView.Of(x.Item1, x.r, applied.Contains($"{x.Item1}: {x.r}")))
            .ToList();
        var mode = !state.Enabled ? "disabled" : view is null && state.LastGood is null ? "standalone" : error is not null ? "error" : "active";
        return new FirewallStatus(
            mode,
            table is not null,
            SshPortsNow(),
            Options.SshFrom,
            Options.JoinFrom,
            table?.Peers.All.Select(a => a.ToString()).ToList() ?? [],
            rules,
            _rejected?.Rollback.Reason,
            _lastChange,
            error);
    }

    private async Task<FirewallChange> ReplaceAsync(FirewallDesign design, ImmutableSortedDictionary<string, ImmutableArray<IPAddress>> admitted, IFirewallCluster? cluster, FirewallClusterView? view, CancellationToken cancellationToken)
    {
        var kernel = Kernel();
        var started = Stopwatch.GetTimestamp();
        var peers = FirewallPeers.Addresses(admitted);
        var ruleset = RulesetRenderer.Render(design, peers, ActiveCuts());
        kernel.Run(ruleset);
        var failure = await ConfirmAsync(kernel, design, admitted, cluster, view, cancellationToken);
        var key = Key(design);
        if (failure is null)
        {
            _applied = new Applied(key, design, admitted);
            _rejected = null;
            SaveState(LoadState() with { LastGood = ruleset });
            _lastChange = new FirewallChange(DateTimeOffset.UtcNow, FirewallChange.AppliedOutcome, null, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            LogApplied(_logger, peers.Count, string.Join(",", design.SshPorts), design.ClusterRules.Length + design.NodeRules.Length, _lastChange.DurationMs);
            return _lastChange;
        }

        // Back to the last good: the previous design with today's peers, or what was saved, or no table at all.
        var previous = _applied is { } applied
            ? RulesetRenderer.Render(applied.Design, peers, ActiveCuts())
            : LoadState().LastGood ?? RulesetRenderer.RenderRemoval();
        kernel.Run(previous);
        _lastChange = new FirewallChange(DateTimeOffset.UtcNow, FirewallChange.RolledBack, failure, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        _rejected = (key, _lastChange);
        LogRolledBack(_logger, _lastChange.DurationMs, failure);
        return _lastChange;
    }

    private FirewallChange UpdatePeers(ClusterState state, ImmutableSortedDictionary<string, ImmutableArray<IPAddress>> admitted)
    {
        var applied = _applied!;
        var now = DateTimeOffset.UtcNow;
        var peers = FirewallPeers.Addresses(admitted);
        foreach (var expired in _cuts.Where(c => c.Value <= now).Select(c => c.Key).ToList())
        {
            _cuts.Remove(expired);
        }

        // A member that disappeared because it was revoked is cut off at once, established flows included.
        var cutAdd = new PeerAddresses(applied.Admitted
            .Where(a => !admitted.ContainsKey(a.Key) && state.Revocations.ContainsKey(a.Key))
            .SelectMany(a => a.Value)
            .Where(a => !peers.All.Contains(a)));
        var cutLift = new PeerAddresses(peers.All.Where(_cuts.ContainsKey));
        var change = RulesetRenderer.RenderPeerChange(applied.Peers, peers, cutAdd, cutLift);
        if (change is null)
        {
            return FirewallChange.Nothing;
        }

        foreach (var address in cutLift.All)
        {
            _cuts.Remove(address);
        }

        foreach (var address in cutAdd.All)
        {
            _cuts[address] = now + RulesetRenderer.CutFor;
        }

        var kernel = Kernel();
        var started = Stopwatch.GetTimestamp();
        try
        {
            kernel.Run(change);
        }
        catch (FirewallException ex)
        {
            // The kernel's sets drifted from what we applied (someone edited our table): replace it whole.
            LogResynced(_logger, ex.Message);
            kernel.Run(RulesetRenderer.Render(applied.Design, peers, ActiveCuts()));
        }

        _applied = new Applied(applied.Key, applied.Design, admitted);
        SaveState(LoadState() with { LastGood = RulesetRenderer.Render(applied.Design, peers, PeerAddresses.Empty) });
        var joined = admitted.Keys.Where(id => !applied.Admitted.ContainsKey(id)).ToList();
        var left = applied.Admitted.Keys.Where(id => !admitted.ContainsKey(id)).ToList();
        LogPeersChanged(_logger, peers.Count, string.Join(",", joined), string.Join(",", left), cutAdd.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return new FirewallChange(now, FirewallChange.AppliedOutcome, null, 0);
    }

    /// <summary>Null when the applied ruleset holds: the table is there as rendered, and peers still reach this node and its SSH.</summary>
    private async Task<string?> ConfirmAsync(FirewallKernel kernel, FirewallDesign design, ImmutableSortedDictionary<string, ImmutableArray<IPAddress>> admitted, IFirewallCluster? cluster, FirewallClusterView? view, CancellationToken cancellationToken)
    {
        var table = kernel.Read();
        if (table is null || table.InputPolicy != "drop")
        {
            return "the kernel does not hold the table as applied";
        }

        if (!table.Comments.Contains(RulesetRenderer.SshComment))
        {
            return "the SSH rule is missing from the applied table";
        }

        if (cluster is null || view is null)
        {
            return null;
        }

        var probing = view.Gossip
            .Where(m => m.Id != view.SelfId && m.State == MemberState.Alive && admitted.ContainsKey(m.Id))
            .OrderBy(_ => Random.Shared.Next())
            .Take(ProbingPeers)
            .ToList();
        if (probing.Count == 0)
        {
            return null;
        }

        var ports = new[] { view.RequestsPort }.Concat(design.SshPorts).Distinct().Take(8).ToList();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ConfirmTimeout);
        var reports = await Task.WhenAll(probing.Select(async peer =>
        {
            var address = peer.Meta.Addresses[0];
            try
            {
                return (Peer: peer, Address: address, Reach: await cluster.ProbeBackAsync(peer.Id, address, ports, timeout.Token));
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or System.Net.Sockets.SocketException or InvalidDataException or LeaderUnavailableException)
            {
                LogProbeFailed(_logger, peer.Meta.Name, ex.Message);
                return (Peer: peer, Address: address, Reach: (IReadOnlyList<PortReach>?)null);
            }
        }));

        var answered = reports.Where(r => r.Reach is not null).ToList();
        if (answered.Count == 0)
        {
            return $"none of the {probing.Count} peers asked ({string.Join(", ", probing.Select(p => p.Meta.Name))}) could be reached on their cluster port {view.RequestsPort} to probe this node back";
        }

        foreach (var (peer, address, reach) in answered)
        {
            for (var i = 0; i < ports.Count; i++)
            {
                if (reach![i] != PortReach.Filtered)
                {
                    continue;
                }

                if (i == 0)
                {
                    return $"peer {peer.Meta.Name} ({address}) can no longer open connections to this node's cluster port {ports[i]}";
                }

                if (design.SshFrom.IsEmpty || design.SshFrom.Any(n => IPNetwork.Parse(n).Contains(address)))
                {
                    return $"SSH port {ports[i]} no longer answers new connections from peer {peer.Meta.Name} ({address})";
                }
            }
        }

        return null;
    }

    /// <summary>The cluster's VXLAN port, once the state says; until then the one this node would create a cluster with.</summary>
    public int OverlayPort(FirewallClusterView? view) =>
        view is not null && Overlay.OverlayNetwork.Of(view.State) is var (network, _) ? network.Port : node.Options.Overlay.Port;

    private FirewallDesign Design(FirewallPolicy clusterRules, FirewallPolicy nodeRules, int overlayPort) => new(
        [.. SshPortsNow()],
        Options.SshFrom,
        Cluster.ClusterPorts.Join,
        Options.JoinFrom,
        Options.JoinRatePerSecond,
        [Cluster.ClusterPorts.Gossip, Cluster.ClusterPorts.Control, Cluster.ClusterPorts.Requests],
        [Cluster.ClusterPorts.Gossip],
        overlayPort,
        clusterRules.Rules,
        nodeRules.Rules);

    /// <summary>The static part of a design, as rendered: equal keys, equal tables.</summary>
    private static string Key(FirewallDesign design) => RulesetRenderer.Render(design, PeerAddresses.Empty, PeerAddresses.Empty);

    private IReadOnlyList<int> SshPortsNow()
    {
        var now = DateTimeOffset.UtcNow;
        if (_ssh is not { } cached || now - cached.At > SshRediscoverInterval)
        {
            _ssh = cached = (SshPorts.Resolve(Options.SshPorts), now);
        }

        return cached.Ports;
    }

    private PeerAddresses ActiveCuts()
    {
        var now = DateTimeOffset.UtcNow;
        return new PeerAddresses(_cuts.Where(c => c.Value > now).Select(c => c.Key));
    }

    private FirewallKernel Kernel() => _kernel ??= new FirewallKernel();

    private FirewallNodeState LoadState() =>
        store.Get(FirewallNodeState.Collection, FirewallNodeState.Key, FirewallJsonContext.Default.FirewallNodeState) ?? FirewallNodeState.Initial;

    private void SaveState(FirewallNodeState state) =>
        store.Put(FirewallNodeState.Collection, FirewallNodeState.Key, state, FirewallJsonContext.Default.FirewallNodeState);

    public void Dispose()
    {
        _kernel?.Dispose();
        _gate.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Firewall: restored the last good ruleset before joining the cluster")]
    private static partial void LogRestored(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Firewall: could not restore the last good ruleset ({Reason}); the table left by the previous run stays in place")]
    private static partial void LogRestoreFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Firewall: ruleset applied and confirmed: {Peers} peer addresses, SSH on {SshPorts}, {Rules} operator rules ({ElapsedMs} ms)")]
    private static partial void LogApplied(ILogger logger, int peers, string sshPorts, int rules, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Firewall: change rolled back after {ElapsedMs} ms: {Reason}. The previous ruleset is in place; fix or remove the rule (`nanobox firewall show`)")]
    private static partial void LogRolledBack(ILogger logger, long elapsedMs, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Firewall: peers now {Peers} addresses; let in [{Joined}], out [{Left}], cut off {Cut} ({ElapsedMs:0.###} ms)")]
    private static partial void LogPeersChanged(ILogger logger, int peers, string joined, string left, int cut, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Firewall: peer set update refused ({Reason}); replaced the table whole")]
    private static partial void LogResynced(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Firewall: peer {Peer} could not probe this node back: {Reason}")]
    private static partial void LogProbeFailed(ILogger logger, string peer, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Firewall: cannot reconcile: {Reason}")]
    private static partial void LogReconcileFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Firewall: table disabled by an operator; this host is no longer protected by nanobox")]
    private static partial void LogDisabled(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Firewall: could not remove the table: {Reason}")]
    private static partial void LogRemoveFailed(ILogger logger, string reason);
}
