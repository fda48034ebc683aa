using System.Net;

namespace Nanobox.Node.Cluster.Membership;

/// <summary>What the cluster believes about a member. Order matters: a later state never yields to an earlier one at the same incarnation.</summary>
public enum MemberState : byte
{
    Alive = 0,

    /// <summary>A probe failed; the member has until its suspicion timeout to refute.</summary>
    Suspect = 1,

    /// <summary>The suspicion timed out unrefuted.</summary>
    Dead = 2,

    /// <summary>The member announced a graceful leave.</summary>
    Left = 3,
}

/// <summary>A point-in-time view of one member, as published in events and by <see cref="Memberlist.Members"/>.</summary>
/// <param name="Id">The node id (26 base32 characters); the member's identity, whatever its name or address.</param>
/// <param name="Incarnation">Raised only by the member itself, to refute a suspicion or announce new metadata.</param>
/// <param name="StateChangedAt">When this node last saw the state change.</param>
public sealed record Member(string Id, NodeMeta Meta, MemberState State, uint Incarnation, DateTimeOffset StateChangedAt)
{
    public string Name => Meta.Name;

    /// <summary>Where the member takes gossip: its first advertised address and its gossip port.</summary>
    public IPEndPoint GossipEndpoint => Meta.GossipEndpoint;
}
