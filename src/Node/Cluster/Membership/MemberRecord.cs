namespace Nanobox.Node.Cluster.Membership;

/// <summary>The engine's mutable view of one member, guarded by the engine's lock; published as <see cref="Member"/> snapshots.</summary>
internal sealed class MemberRecord(string id, NodeMeta meta, uint incarnation, MemberState state, DateTimeOffset since)
{
    public string Id { get; } = id;

    public NodeMeta Meta { get; set; } = meta;

    public uint Incarnation { get; set; } = incarnation;

    public MemberState State { get; private set; } = state;

    public DateTimeOffset Since { get; private set; } = since;

    public Suspicion? Suspicion { get; private set; }

    public void SetState(MemberState state, DateTimeOffset now)
    {
        if (state != MemberState.Suspect)
        {
            StopSuspicion();
        }

        if (state != State)
        {
            State = state;
            Since = now;
        }
    }

    public void Suspect(Suspicion suspicion, DateTimeOffset now)
    {
        SetState(MemberState.Suspect, now);
        Suspicion = suspicion;
    }

    public void StopSuspicion()
    {
        Suspicion?.Dispose();
        Suspicion = null;
    }

    public Member Snapshot() => new(Id, Meta, State, Incarnation, Since);
}
