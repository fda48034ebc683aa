using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Nanobox.Node.Runtime.Spec;

namespace Nanobox.Node.Runtime.Placement;

/// <summary>One instance of a component: <c>shop/web.main#2</c>.</summary>
/// <param name="Component">The component id, e.g. <c>web.main</c>.</param>
/// <param name="Index">0 to replicas - 1.</param>
public readonly record struct InstanceKey(string App, string Component, int Index) : IComparable<InstanceKey>
{
    /// <summary>Orders by app, component, then index as a number (so #2 comes before #10).</summary>
    public int CompareTo(InstanceKey other)
    {
        var byApp = string.CompareOrdinal(App, other.App);
        if (byApp != 0)
            return byApp;
        var byComponent = string.CompareOrdinal(Component, other.Component);
        return byComponent != 0 ? byComponent : Index.CompareTo(other.Index);
    }

    /// <summary><c>shop/web.main#2</c>: the key of the placement map.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{App}/{Component}#{Index}");

    public static bool TryParse(string text, [NotNullWhen(true)] out InstanceKey? key)
    {
        key = null;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var hash = text.LastIndexOf('#');
        if (slash <= 0 || hash <= slash + 1 || !int.TryParse(text.AsSpan(hash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            return false;
        key = new InstanceKey(text[..slash], text[(slash + 1)..hash], index);
        return key.ToString() == text;
    }
}

/// <summary>An instance the leader must place, with what it needs from a node.</summary>
/// <param name="MemoryBytes">Reserved on the node (the component's memory limit).</param>
/// <param name="MilliCpus">Reserved on the node (the component's CPU limit), in thousandths of a CPU.</param>
public sealed record WantedInstance(InstanceKey Key, ImmutableArray<PlacementConstraint> Constraints, long MemoryBytes, int MilliCpus)
{
    /// <summary>Every instance <paramref name="spec"/> asks for: each component's replicas 0 to N - 1.</summary>
    public static IEnumerable<WantedInstance> Of(AppSpec spec) =>
        from component in spec.Components.Values
        from index in Enumerable.Range(0, component.Replicas)
        select new WantedInstance(
            new InstanceKey(spec.App, component.Id, index),
            component.Constraints,
            component.Resources.MemoryBytes,
            component.Resources.MilliCpus);
}

/// <summary>A node as placement sees it.</summary>
/// <param name="MemoryBytes">Memory the node offers to instances.</param>
/// <param name="MilliCpus">CPU the node offers to instances, in thousandths of a CPU.</param>
/// <param name="Eligible">
/// May hold instances: alive, or down for less than the grace time (the caller decides). Instances
/// on an ineligible node are placed elsewhere.
/// </param>
/// <param name="AcceptsNew">
/// May receive instances it does not already hold. False for a node that is eligible but should not
/// grow: down within its grace time (its instances wait for it), or being drained.
/// </param>
public sealed record PlacementNode(
    string Id,
    string Name,
    ImmutableSortedDictionary<string, string> Labels,
    long MemoryBytes,
    int MilliCpus,
    bool Eligible,
    bool AcceptsNew = true)
{
    public bool Satisfies(ImmutableArray<PlacementConstraint> constraints) =>
        constraints.All(c => c.Matches(Id, Name, Labels));
}

/// <param name="Instances">Every instance that should exist: from every app's current spec.</param>
/// <param name="Current">The placement map in force: instance key (<see cref="InstanceKey.ToString"/>) -> node id.</param>
public sealed record PlacementInput(
    ImmutableArray<WantedInstance> Instances,
    ImmutableArray<PlacementNode> Nodes,
    ImmutableSortedDictionary<string, string> Current);

/// <summary>An instance no node can take now, and why.</summary>
public sealed record UnplacedInstance(string Instance, string Reason)
{
    /// <summary><c>shop/web.main#2: no eligible node matches node.label.zone == b</c></summary>
    public override string ToString() => $"{Instance}: {Reason}";
}

/// <summary>What placement decided.</summary>
/// <param name="Placements">Instance key -> node id, for every instance that has a node.</param>
/// <param name="Unplaced">Instances without a node, in key order.</param>
public sealed record PlacementPlan(ImmutableSortedDictionary<string, string> Placements, ImmutableArray<UnplacedInstance> Unplaced)
{
    /// <summary>Equal when both hold the same entries in the same order: the leader proposes a plan only when it differs.</summary>
    public bool Equals(PlacementPlan? other) =>
        ReferenceEquals(this, other) || (other is not null && Placements.SequenceEqual(other.Placements) && Unplaced.SequenceEqual(other.Unplaced));

    public override int GetHashCode() => HashCode.Combine(Placements.Count, Unplaced.Length);
}
