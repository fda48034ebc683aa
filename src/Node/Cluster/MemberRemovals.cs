using System.Text.Json;
using System.Text.Json.Serialization;
using Nanobox.Node.Cluster.Consensus;

namespace Nanobox.Node.Cluster;

/// <summary>
/// Members an operator asked to remove, kept in the replicated state until the leader has carried the
/// removal out: a voter first leaves the Raft configuration, then the member is removed and revoked.
/// Going through the state lets `nanobox cluster remove` run on any member, not only the leader.
/// </summary>
public static class MemberRemovals
{
    public const string Section = "removals";

    public static IReadOnlyList<string> Pending(ClusterState state) =>
        state.Sections.TryGetValue(Section, out var section)
            ? section.Value.Deserialize(MemberRemovalsJsonContext.Default.StringArray) ?? []
            : [];

    public static long? Revision(ClusterState state) => state.Sections.TryGetValue(Section, out var section) ? section.Revision : null;

    public static PutSectionCommand With(ClusterState state, string nodeId) =>
        Put([.. Pending(state).Append(nodeId).Distinct()], Revision(state));

    public static PutSectionCommand Without(ClusterState state, string nodeId) =>
        Put([.. Pending(state).Where(id => id != nodeId)], Revision(state));

    private static PutSectionCommand Put(string[] ids, long? revision) =>
        new(Section, JsonSerializer.SerializeToElement(ids, MemberRemovalsJsonContext.Default.StringArray), revision);
}

[JsonSerializable(typeof(string[]))]
internal sealed partial class MemberRemovalsJsonContext : JsonSerializerContext;
