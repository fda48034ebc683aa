using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Cluster;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Firewall;
using Nanobox.Node.Host;
using Nanobox.Node.Runtime.Spec;

namespace Nanobox.Node.Runtime.Placement;

/// <summary>
/// On the leader only: keeps the cluster's placement map (section <see cref="PlacementMap.Section"/>) equal to
/// what <see cref="PlacementPlanner"/> decides from every app's current release and the members as gossip sees
/// them, and writes it (compare-and-set) only when it changes. A member down for less than
/// <see cref="AppsOptions.RescheduleAfter"/> keeps its instances; past it, they are placed elsewhere.
/// </summary>
public sealed partial class PlacementManager(NodeContext node, ILoggerFactory loggerFactory)
{
    /// <summary>A deploy waits for the plan: decide within a quarter second. A tick with nothing to change reads only memory.</summary>
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(250);

    private readonly ILogger _logger = loggerFactory.CreateLogger("Nanobox.Placement");
    private readonly GossipSightings _sightings = new();
    private DateTimeOffset? _leadingSince;
    private string? _lastError;
    private ImmutableArray<UnplacedInstance> _loggedUnplaced = [];

    public Task RunAsync(IAppsCluster cluster, CancellationToken cancellationToken) =>
        Ticker.RunAsync(TickInterval, ct => PlaceAsync(cluster, ct), cancellationToken);

    /// <summary>One step: decide, and write the map if it changed. Failures are logged once per distinct reason.</summary>
    public async Task PlaceAsync(IAppsCluster cluster, CancellationToken cancellationToken)
    {
        if (cluster.View() is not { } view)
        {
            _leadingSince = null;
            return;
        }

        // Every member tracks gossip, so a new leader knows since when a member has been down.
        var sightings = _sightings.Track(view.Gossip);
        if (!view.IsLeader)
        {
            _leadingSince = null;
            return;
        }

        var now = DateTimeOffset.UtcNow;
        _leadingSince ??= now;
        try
        {
            var (current, revision) = PlacementMap.Of(view.State);
            var next = Decide(view.State, (view.SelfId, node.Capacity, node.GossipLabels), sightings, now, _leadingSince.Value, node.Options.Apps.RescheduleAfter);
            if (!next.Equals(current))
            {
                await cluster.UpdateSectionAsync(_ => next.Put(revision), cancellationToken);
                LogChanges(view.State, current, next);
            }

            if (_lastError is not null)
            {
                LogRecovered(_logger);
                _lastError = null;
            }
        }
        catch (Exception ex) when (ex is ClusterException or ArgumentException or System.Text.Json.JsonException)
        {
            if (ex.Message != _lastError)
            {
                LogFailed(_logger, ex.Message);
            }

            _lastError = ex.Message;
        }
    }

    /// <summary>The map the leader wants: every app's current release placed on the members it may use. Pure.</summary>
    internal static PlacementMap Decide(
        ClusterState state,
        (string Id, NodeCapacity Capacity, IReadOnlyDictionary<string, string> Labels) self,
        IReadOnlyDictionary<string, GossipSighting> sightings,
        DateTimeOffset now,
        DateTimeOffset leadingSince,
        TimeSpan rescheduleAfter)
    {
        var (catalog, appsRevision) = AppCatalog.Of(state);
        var instances = catalog.Apps.Values.SelectMany(h => WantedInstance.Of(h.Current.Spec)).ToImmutableArray();
        var current = PlacementMap.Of(state).Map.Plan.Placements;
        var nodes = PlacementNodes.From(state, self, sightings, now, leadingSince, rescheduleAfter, instances, current);
        return new PlacementMap(appsRevision ?? 0, PlacementPlanner.Plan(new PlacementInput(instances, nodes, current)));
    }

    private void LogChanges(ClusterState state, PlacementMap before, PlacementMap after)
    {
        string Name(string nodeId) => state.Members.TryGetValue(nodeId, out var m) ? m.Name : nodeId;
        foreach (var (instance, nodeId) in after.Plan.Placements)
        {
            if (!before.Plan.Placements.TryGetValue(instance, out var was))
            {
                LogPlaced(_logger, instance, Name(nodeId));
            }
            else if (was != nodeId)
            {
                LogMoved(_logger, instance, Name(was), Name(nodeId));
            }
        }

        foreach (var unplaced in after.Plan.Unplaced.Except(_loggedUnplaced))
        {
            LogUnplaced(_logger, unplaced.Instance, unplaced.Reason);
        }

        _loggedUnplaced = after.Plan.Unplaced;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Placement: {Instance} on {Node}")]
    private static partial void LogPlaced(ILogger logger, string instance, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Placement: {Instance} moves from {From} to {To}")]
    private static partial void LogMoved(ILogger logger, string instance, string from, string to);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Placement: {Instance} cannot be placed: {Reason}")]
    private static partial void LogUnplaced(ILogger logger, string instance, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Placement: cannot write the placement map: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Placement: writing the placement map again")]
    private static partial void LogRecovered(ILogger logger);
}
