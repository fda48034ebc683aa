using System.Net;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Cluster.Membership;

namespace Nanobox.Node.Overlay;

/// <summary>The cluster as the overlay needs it: the replicated state and gossip, a way to change its section, and its own announcement.</summary>
public interface IOverlayCluster
{
    /// <summary>The node's view of its cluster now, or null while it has none (standalone, or the runtime restarting).</summary>
    OverlayClusterView? View();

    /// <summary>Replaces a section of the replicated state (compare-and-set) and waits until this node's copy has it.</summary>
    Task UpdateSectionAsync(Func<ClusterState, PutSectionCommand> change, CancellationToken cancellationToken);

    /// <summary>Gossips this node's overlay endpoint and endpoints from now on (kept across runtime restarts).</summary>
    void Announce(OverlayAnnouncement announcement);
}

/// <param name="Gossip">Every member gossip knows, this node included.</param>
public sealed record OverlayClusterView(string SelfId, ClusterState State, IReadOnlyList<Member> Gossip, bool IsLeader);

/// <summary>What this node gossips about its overlay: where its VTEP listens, the VNI, and its endpoints as a bitmap (<see cref="OverlayBlock"/>).</summary>
public sealed record OverlayAnnouncement(IPEndPoint Vtep, uint Vni, byte[] Endpoints)
{
    public bool Equals(OverlayAnnouncement? other) =>
        other is not null && Vtep.Equals(other.Vtep) && Vni == other.Vni && Endpoints.AsSpan().SequenceEqual(other.Endpoints);

    public override int GetHashCode() => HashCode.Combine(Vtep, Vni);
}
