using System.Collections.Immutable;
using System.Text.Json;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Runtime.Spec;

namespace Nanobox.Node.Runtime.Placement;

/// <summary>
/// Where every instance runs, as the leader decided: the document in the cluster state's section
/// <see cref="Section"/>. Every node's agent runs what it names for that node.
/// </summary>
/// <param name="AppsRevision">The revision of section <c>apps</c> the plan was made for: a deploy waits for it.</param>
public sealed record PlacementMap(long AppsRevision, PlacementPlan Plan)
{
    public const string Section = "placements";

    public static PlacementMap Empty { get; } = new(0, new PlacementPlan(ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal), []));

    /// <summary>The map in <paramref name="state"/>, and its section revision (0 when there is none).</summary>
    public static (PlacementMap Map, long Revision) Of(ClusterState state) =>
        state.Sections.TryGetValue(Section, out var section)
            ? (section.Value.Deserialize(RuntimeJsonContext.Default.PlacementMap) ?? Empty, section.Revision)
            : (Empty, 0);

    /// <summary>Writes this map over the one at <paramref name="expectedRevision"/> (0: there must be none yet).</summary>
    public PutSectionCommand Put(long expectedRevision) =>
        new(Section, JsonSerializer.SerializeToElement(this, RuntimeJsonContext.Default.PlacementMap), expectedRevision);

    /// <summary>The instances placed on <paramref name="nodeId"/>.</summary>
    public IEnumerable<InstanceKey> On(string nodeId) =>
        Plan.Placements.Where(p => p.Value == nodeId).Select(p => InstanceKey.TryParse(p.Key, out var key) ? key : null).OfType<InstanceKey>();
}
