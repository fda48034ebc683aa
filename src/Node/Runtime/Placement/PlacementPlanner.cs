using System.Collections.Immutable;
using Nanobox.Node.Runtime.Spec;

namespace Nanobox.Node.Runtime.Placement;

/// <summary>
/// Decides which node runs each instance. Pure and deterministic (the same input in any order gives the
/// same plan), so the leader can recompute it on every change and a new leader agrees with the old one.
/// <list type="number">
/// <item>Keep: an instance stays where it is while its node is eligible, matches its constraints and
/// has room (taken in key order). A running instance is never moved for balance.</item>
/// <item>Place the rest, largest memory first: among eligible nodes that accept new instances, match
/// the constraints and have room, pick the one with the fewest instances of the same component, then
/// the fewest instances overall, then the most free memory, then the lowest node id.</item>
/// </list>
/// Instances no longer wanted drop out of the map; instances no node can take are listed with the reason.
/// </summary>
public static class PlacementPlanner
{
    /// <exception cref="ArgumentException">Two nodes share an id, two instances share a key, or a capacity or request is negative.</exception>
    public static PlacementPlan Plan(PlacementInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var nodes = Validate(input);
        var state = new NodeLoad(nodes);
        var placements = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        var pending = new List<WantedInstance>();

        foreach (var instance in input.Instances.OrderBy(static i => i.Key))
        {
            var key = instance.Key.ToString();
            if (input.Current.TryGetValue(key, out var nodeId)
                && nodes.TryGetValue(nodeId, out var node)
                && node.Eligible
                && node.Satisfies(instance.Constraints)
                && state.Fits(node, instance))
            {
                state.Add(node, instance);
                placements.Add(key, node.Id);
            }
            else
            {
                pending.Add(instance);
            }
        }

        var unplaced = new List<WantedInstance>();
        foreach (var instance in pending.OrderByDescending(static i => i.MemoryBytes).ThenByDescending(static i => i.MilliCpus).ThenBy(static i => i.Key))
        {
            var best = nodes.Values
                .Where(n => n.Eligible && n.AcceptsNew && n.Satisfies(instance.Constraints) && state.Fits(n, instance))
                .OrderBy(n => state.CountOf(n, instance.Key))
                .ThenBy(n => state.Total(n))
                .ThenByDescending(n => state.FreeMemory(n))
                .ThenBy(static n => n.Id, StringComparer.Ordinal)
                .FirstOrDefault();
            if (best is null)
            {
                unplaced.Add(instance);
                continue;
            }

            state.Add(best, instance);
            placements.Add(instance.Key.ToString(), best.Id);
        }

        // Explained against the final load, so planning again from this plan gives the same reasons.
        return new PlacementPlan(
            placements.ToImmutable(),
            [.. unplaced.OrderBy(static u => u.Key).Select(u => new UnplacedInstance(u.Key.ToString(), Explain(u, nodes.Values, state)))]);
    }

    private static ImmutableSortedDictionary<string, PlacementNode> Validate(PlacementInput input)
    {
        var nodes = ImmutableSortedDictionary.CreateBuilder<string, PlacementNode>(StringComparer.Ordinal);
        foreach (var node in input.Nodes)
        {
            if (node.MemoryBytes < 0 || node.MilliCpus < 0)
                throw new ArgumentException($"placement: node {node.Id} has a negative capacity", nameof(input));
            if (!nodes.TryAdd(node.Id, node))
                throw new ArgumentException($"placement: node id {node.Id} is given twice", nameof(input));
        }

        var keys = new HashSet<InstanceKey>();
        foreach (var instance in input.Instances)
        {
            if (instance.MemoryBytes < 0 || instance.MilliCpus < 0)
                throw new ArgumentException($"placement: instance {instance.Key} requests a negative amount", nameof(input));
            if (!keys.Add(instance.Key))
                throw new ArgumentException($"placement: instance {instance.Key} is given twice", nameof(input));
        }

        return nodes.ToImmutable();
    }

    /// <summary>Why no node can take <paramref name="instance"/>: the first filter that leaves no node.</summary>
    private static string Explain(WantedInstance instance, IEnumerable<PlacementNode> nodes, NodeLoad state)
    {
        var open = nodes.Where(static n => n.Eligible && n.AcceptsNew).ToList();
        if (open.Count == 0)
            return "no node can take new instances (every node is down, in its grace time or draining)";

        var matching = open.Where(n => n.Satisfies(instance.Constraints)).ToList();
        if (matching.Count == 0)
        {
            var constraints = instance.Constraints.Sort();
            var alone = constraints.FirstOrDefault(c => !open.Any(n => n.Satisfies([c])));
            return alone is not null
                ? $"no eligible node matches {alone}"
                : $"no eligible node matches all of {string.Join(", ", constraints)}";
        }

        var where = instance.Constraints.IsEmpty ? "eligible node" : "eligible node that matches its constraints";
        var mostMemory = matching.Max(state.FreeMemory);
        if (mostMemory < instance.MemoryBytes)
            return $"not enough memory: needs {SpecFormats.FormatBytes(instance.MemoryBytes)}, the most free on an {where} is {SpecFormats.FormatBytes(mostMemory)}";
        var mostCpu = matching.Max(state.FreeCpu);
        if (mostCpu < instance.MilliCpus)
            return $"not enough CPU: needs {SpecFormats.FormatCpus(instance.MilliCpus)}, the most free on an {where} is {SpecFormats.FormatCpus(mostCpu)}";
        return $"no {where} has both {SpecFormats.FormatBytes(instance.MemoryBytes)} of memory and {SpecFormats.FormatCpus(instance.MilliCpus)} CPUs free";
    }

    /// <summary>What the plan so far has put on each node.</summary>
    private sealed class NodeLoad(IReadOnlyDictionary<string, PlacementNode> nodes)
    {
        private readonly Dictionary<string, (long Memory, int Cpu, int Total)> used = nodes.Keys.ToDictionary(static id => id, static _ => (0L, 0, 0), StringComparer.Ordinal);
        private readonly Dictionary<(string Node, string App, string Component), int> perComponent = [];

        public long FreeMemory(PlacementNode node) => node.MemoryBytes - used[node.Id].Memory;

        public int FreeCpu(PlacementNode node) => node.MilliCpus - used[node.Id].Cpu;

        public int Total(PlacementNode node) => used[node.Id].Total;

        public int CountOf(PlacementNode node, InstanceKey key) => perComponent.GetValueOrDefault((node.Id, key.App, key.Component));

        public bool Fits(PlacementNode node, WantedInstance instance) =>
            FreeMemory(node) >= instance.MemoryBytes && FreeCpu(node) >= instance.MilliCpus;

        public void Add(PlacementNode node, WantedInstance instance)
        {
            var (memory, cpu, total) = used[node.Id];
            used[node.Id] = (memory + instance.MemoryBytes, cpu + instance.MilliCpus, total + 1);
            var component = (node.Id, instance.Key.App, instance.Key.Component);
            perComponent[component] = perComponent.GetValueOrDefault(component) + 1;
        }
    }
}
