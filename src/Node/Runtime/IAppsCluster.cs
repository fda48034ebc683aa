using System.Text.Json;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Cluster.Membership;

namespace Nanobox.Node.Runtime;

/// <summary>The cluster as apps need it: the replicated state and gossip, a way to change a section, and the other members' agents.</summary>
public interface IAppsCluster
{
    /// <summary>The node's view of its cluster now, or null while it has none (standalone, or the runtime restarting).</summary>
    AppsClusterView? View();

    /// <summary>Replaces a section of the replicated state (compare-and-set) and waits until this node's copy has it.</summary>
    /// <exception cref="Cluster.ClusterException">Not a member, no quorum, or the section changed meanwhile.</exception>
    Task UpdateSectionAsync(Func<ClusterState, PutSectionCommand> change, CancellationToken cancellationToken);

    /// <summary>What member <paramref name="nodeId"/>'s agent reports about its instances, over the control request port (mTLS).</summary>
    /// <exception cref="IOException">The member did not answer.</exception>
    Task<JsonElement> ListInstancesAsync(string nodeId, CancellationToken cancellationToken);
}

/// <param name="Gossip">Every member gossip knows, this node included, dead ones until reaped.</param>
public sealed record AppsClusterView(string SelfId, ClusterState State, IReadOnlyList<Member> Gossip, bool IsLeader);
