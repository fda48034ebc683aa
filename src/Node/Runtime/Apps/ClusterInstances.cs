using System.Collections.Immutable;
using System.Text.Json;
using Nanobox.Node.Cluster;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Runtime.Instances;
using Nanobox.Node.Runtime.Placement;
using Nanobox.Node.Runtime.Spec;

namespace Nanobox.Node.Runtime.Apps;

/// <summary>
/// `nanobox ps`: every instance in the cluster. Each member answers for its own instances (its reconciler's
/// last pass, over the control request port); this node asks them all at once, waits a short while, and
/// merges the answers with the placement map: an instance whose node does not answer is <c>unknown</c>, one
/// its node has not created yet <c>pending</c>, one no node can take <c>unplaced</c>.
/// </summary>
public sealed class ClusterInstances(IAppsCluster cluster, InstanceBoard board)
{
    /// <summary>A member that takes longer is reported as not answering; ps must stay quick with a node down.</summary>
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(2);

    /// <exception cref="ClusterException">This node is not in a cluster.</exception>
    public async Task<ImmutableArray<InstanceRow>> ListAsync(CancellationToken cancellationToken)
    {
        var view = cluster.View() ?? throw new ClusterException(ClusterErrorKind.Conflict,
            "This node is not in a cluster, so it runs no apps. Create one with `nanobox cluster init` or join one with `nanobox cluster join ADDR --token TOKEN`.");
        var members = view.State.Members.Keys.Where(id => !view.State.Revocations.ContainsKey(id)).ToList();
        var answers = await Task.WhenAll(members.Select(async id => (Id: id, Rows: id == view.SelfId ? board.Rows : await AskAsync(id, cancellationToken))));
        return Merge(view.State, answers.ToDictionary(a => a.Id, a => a.Rows, StringComparer.Ordinal));
    }

    private async Task<ImmutableArray<InstanceRow>?> AskAsync(string nodeId, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(AskTimeout);
        try
        {
            return InstanceRow.FromJson(await cluster.ListInstancesAsync(nodeId, timeout.Token));
        }
        catch (Exception ex) when (ex is IOException or JsonException or System.Net.Sockets.SocketException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null;
        }
    }

    /// <summary>The placement map's view, with each node's answer for what it runs (pure).</summary>
    /// <param name="answers">Each member's rows; null for a member that did not answer.</param>
    public static ImmutableArray<InstanceRow> Merge(ClusterState state, IReadOnlyDictionary<string, ImmutableArray<InstanceRow>?> answers)
    {
        var catalog = AppCatalog.Of(state).Catalog;
        var plan = PlacementMap.Of(state).Map.Plan;
        string NodeName(string id) => state.Members.TryGetValue(id, out var m) ? m.Name : id;
        var reported = answers
            .Where(a => a.Value is not null)
            .SelectMany(a => a.Value!.Value.Select(r => r with { Node = a.Key, NodeName = NodeName(a.Key) }))
            .ToLookup(r => (r.Key, r.Node));
        var rows = new List<InstanceRow>();
        foreach (var instance in catalog.Apps.Values.SelectMany(h => WantedInstance.Of(h.Current.Spec)).Select(w => w.Key))
        {
            var release = catalog.Apps[instance.App].Current;
            var key = instance.ToString();
            InstanceRow Placeholder(string node, string stateName, string? error) => new(
                instance.App, instance.Component, node, stateName, null, release.Spec.Components[instance.Component].Image,
                release.ImagePins[instance.Component], 0, ContainerName(instance), node.Length == 0 ? "" : NodeName(node), instance.Index, null, error);

            if (plan.Placements.TryGetValue(key, out var nodeId))
            {
                rows.Add(answers.GetValueOrDefault(nodeId) is null
                    ? Placeholder(nodeId, InstanceStates.Unknown, $"{NodeName(nodeId)} did not answer within {AskTimeout.TotalSeconds:0} s")
                    : reported[(key, nodeId)].FirstOrDefault() ?? Placeholder(nodeId, InstanceStates.Pending, $"{NodeName(nodeId)} has not taken it up yet"));
            }
            else
            {
                var reason = plan.Unplaced.FirstOrDefault(u => u.Instance == key)?.Reason;
                rows.Add(Placeholder("", reason is null ? InstanceStates.Pending : InstanceStates.Unplaced, reason ?? "the leader has not placed it yet"));
            }
        }

        // What nodes run that is not (or no longer) placed on them: being removed, or a node that has not caught up.
        var listed = rows.Where(r => r.Node.Length > 0).Select(r => (r.Key, r.Node)).ToHashSet();
        rows.AddRange(reported.SelectMany(g => g).Where(r => !listed.Contains((r.Key, r.Node))));
        return [.. rows
            .OrderBy(r => r.App, StringComparer.Ordinal)
            .ThenBy(r => r.Component, StringComparer.Ordinal)
            .ThenBy(r => r.Instance)
            .ThenBy(r => r.NodeName, StringComparer.Ordinal)];
    }

    private static string ContainerName(InstanceKey key) => Docker.ContainerSpecBuilder.ContainerName(key.App, key.Component, key.Index);
}
