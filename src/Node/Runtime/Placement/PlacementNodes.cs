using System.Collections.Immutable;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Cluster.Membership;
using Nanobox.Node.Firewall;

namespace Nanobox.Node.Runtime.Placement;

/// <summary>
/// The nodes placement may use, as the leader sees them: every member of the replicated state (never a removed
/// one), with the capacity and labels it gossips, eligible by what gossip says of it. Pure.
/// </summary>
public static class PlacementNodes
{
    /// <param name="self">The leader itself: alive by definition, with its own capacity and labels.</param>
    /// <param name="gossip">What gossip said of each member (dead ones included, with the labels they last announced).</param>
    /// <param name="unseenSince">From when a member gossip has never mentioned counts as down: when this node began to place.</param>
    /// <param name="rescheduleAfter">How long a down member keeps its instances before they are placed elsewhere.</param>
    /// <param name="instances">The wanted instances, and <paramref name="current"/> the placements in force: what a down member
    /// whose capacity was never heard of holds.</param>
    public static ImmutableArray<PlacementNode> From(
        ClusterState state,
        (string Id, NodeCapacity Capacity, IReadOnlyDictionary<string, string> Labels) self,
        IReadOnlyDictionary<string, GossipSighting> gossip,
        DateTimeOffset now,
        DateTimeOffset unseenSince,
        TimeSpan rescheduleAfter,
        IReadOnlyList<WantedInstance> instances,
        IReadOnlyDictionary<string, string> current)
    {
        var nodes = ImmutableArray.CreateBuilder<PlacementNode>();
        foreach (var member in state.Members.Values.Where(m => !state.Revocations.ContainsKey(m.NodeId)))
        {
            if (member.NodeId == self.Id)
            {
                nodes.Add(new PlacementNode(member.NodeId, member.Name, NodeLabels.OperatorLabels(self.Labels), self.Capacity.MemoryBytes, self.Capacity.MilliCpus, Eligible: true));
                continue;
            }

            var seen = gossip.GetValueOrDefault(member.NodeId);
            var (alive, downSince) = seen switch
            {
                null => (false, unseenSince),
                { State: MemberState.Alive } => (true, now),
                { State: MemberState.Left } => (false, DateTimeOffset.MinValue),
                _ => (false, seen.Since),
            };
            var eligible = alive || now - downSince < rescheduleAfter;
            var labels = seen?.Labels ?? new Dictionary<string, string>();
            // A down node never heard of keeps what it holds (and takes nothing new) until its time is up.
            var capacity = NodeLabels.Capacity(labels) ?? Holding(member.NodeId, instances, current);
            nodes.Add(new PlacementNode(member.NodeId, member.Name, NodeLabels.OperatorLabels(labels), capacity.MemoryBytes, capacity.MilliCpus, eligible, AcceptsNew: alive && NodeLabels.Capacity(labels) is not null));
        }

        return nodes.ToImmutable();
    }

    private static NodeCapacity Holding(string nodeId, IReadOnlyList<WantedInstance> instances, IReadOnlyDictionary<string, string> current)
    {
        var held = instances.Where(i => current.GetValueOrDefault(i.Key.ToString()) == nodeId).ToList();
        return new NodeCapacity(held.Sum(i => i.MemoryBytes), held.Sum(i => i.MilliCpus));
    }
}
