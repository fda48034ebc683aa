using System.Net;

namespace Nanobox.Node.Cluster.Membership;

/// <summary>Wire type tags. Values are part of the protocol: never renumber, only add.</summary>
internal enum MessageType : byte
{
    Ping = 1,
    IndirectPing = 2,
    Ack = 3,
    Nack = 4,
    Suspect = 5,
    Alive = 6,
    Dead = 7,
    Leave = 8,
    Compound = 9,
    PushPull = 10,
}

internal abstract record GossipMessage
{
    public abstract MessageType Type { get; }
}

/// <summary>Direct probe. A member answers only probes addressed to its own id, so a reused address does not ack for someone else.</summary>
internal sealed record PingMessage(uint Seq, string TargetId, string SourceId) : GossipMessage
{
    public override MessageType Type => MessageType.Ping;
}

/// <summary>Asks a relay to probe <paramref name="Target"/> and forward the ack; the relay nacks if it hears nothing.</summary>
internal sealed record IndirectPingMessage(uint Seq, string TargetId, IPEndPoint Target, string SourceId) : GossipMessage
{
    public override MessageType Type => MessageType.IndirectPing;
}

/// <summary>A reply to a probe, matched by sequence number.</summary>
internal abstract record ProbeReply(uint Seq) : GossipMessage;

internal sealed record AckMessage(uint Seq) : ProbeReply(Seq)
{
    public override MessageType Type => MessageType.Ack;
}

/// <summary>A relay's "I tried and the target did not answer": tells the prober its own link is fine (Lifeguard).</summary>
internal sealed record NackMessage(uint Seq) : ProbeReply(Seq)
{
    public override MessageType Type => MessageType.Nack;
}

/// <summary>One member's claim that another is suspect or dead, at the incarnation it knows.</summary>
internal abstract record Accusation(string Id, uint Incarnation, string FromId) : GossipMessage;

internal sealed record SuspectMessage(string Id, uint Incarnation, string FromId) : Accusation(Id, Incarnation, FromId)
{
    public override MessageType Type => MessageType.Suspect;
}

internal sealed record AliveMessage(string Id, uint Incarnation, NodeMeta Meta) : GossipMessage
{
    public override MessageType Type => MessageType.Alive;
}

internal sealed record DeadMessage(string Id, uint Incarnation, string FromId) : Accusation(Id, Incarnation, FromId)
{
    public override MessageType Type => MessageType.Dead;
}

internal sealed record LeaveMessage(string Id, uint Incarnation) : GossipMessage
{
    public override MessageType Type => MessageType.Leave;
}

/// <summary>Full state, exchanged over a stream on join and periodically (anti-entropy).</summary>
internal sealed record PushPullMessage(IReadOnlyList<PushPullEntry> Members) : GossipMessage
{
    public override MessageType Type => MessageType.PushPull;
}

internal sealed record PushPullEntry(string Id, uint Incarnation, MemberState State, NodeMeta Meta);
