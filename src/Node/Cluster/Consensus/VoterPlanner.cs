namespace Nanobox.Node.Cluster.Consensus;

public sealed record VoterPlannerOptions
{
    /// <summary>Voters while fewer than <see cref="LargeVoterCount"/> members are healthy: tolerates one failure.</summary>
    public const int SmallVoterCount = 3;

    /// <summary>Voters once that many members are healthy: tolerates two failures. More would only slow commits.</summary>
    public const int LargeVoterCount = 5;

    /// <summary>
    /// How long a voter may be down before a healthy member takes its seat. Long enough to ride out
    /// a reboot or an upgrade without churning the configuration, short enough that the cluster
    /// does not spend long one failure away from losing its quorum.
    /// </summary>
    public TimeSpan VoterReplaceAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        if (VoterReplaceAfter < TimeSpan.FromSeconds(10))
            throw new ArgumentException("voter planner options: VoterReplaceAfter must be at least 10 s, or a brief blip replaces voters");
    }
}

/// <summary>A member as the health source (gossip) sees it.</summary>
/// <param name="JoinedAt">Earlier members become voters first, so the first nodes of a cluster are its voters.</param>
/// <param name="DownSince">When it was last seen healthy; null while healthy.</param>
public sealed record MemberHealth(string NodeId, DateTimeOffset JoinedAt, bool Healthy, DateTimeOffset? DownSince = null);

/// <summary>The next single change to the voter set.</summary>
public abstract record VoterChange
{
    public sealed record None(string Reason) : VoterChange;

    public sealed record AddVoter(string NodeId) : VoterChange;

    public sealed record RemoveVoter(string NodeId) : VoterChange;
}

/// <summary>
/// Which member should gain or lose a vote next: 3 voters, 5 once 5 members are healthy; a voter
/// down longer than <see cref="VoterPlannerOptions.VoterReplaceAfter"/> is replaced by a healthy
/// member (added first, removed next, so the cluster never has fewer live voters meanwhile). One
/// change per call, and only changes the current voters can commit and the next configuration can
/// survive. Pure: the leader calls it on every health or state change and applies the result.
/// </summary>
public static class VoterPlanner
{
    public static VoterChange Plan(IReadOnlyCollection<MemberHealth> members, IReadOnlySet<string> voters, DateTimeOffset now, VoterPlannerOptions options)
    {
        var byId = members.ToDictionary(static m => m.NodeId, StringComparer.Ordinal);
        var count = voters.Count;
        var liveVoters = voters.Count(v => byId.TryGetValue(v, out var m) && m.Healthy);
        if (count == 0)
            return new VoterChange.None("there are no voters: the cluster must be bootstrapped first");
        if (liveVoters < Quorum.Majority(count))
            return new VoterChange.None($"only {liveVoters} of {count} voters are healthy: no change can commit without a quorum");

        // Voters gone for good: down past the grace time, or no longer members at all.
        var expired = voters
            .Where(v => !byId.TryGetValue(v, out var m) || (!m.Healthy && now - (m.DownSince ?? now) >= options.VoterReplaceAfter))
            .OrderBy(v => byId.TryGetValue(v, out var m) ? m.DownSince : DateTimeOffset.MinValue)
            .ThenBy(static v => v, StringComparer.Ordinal)
            .ToList();
        var target = members.Count(static m => m.Healthy) >= VoterPlannerOptions.LargeVoterCount
            ? VoterPlannerOptions.LargeVoterCount
            : VoterPlannerOptions.SmallVoterCount;

        var candidate = members
            .Where(m => m.Healthy && !voters.Contains(m.NodeId))
            .OrderBy(static m => m.JoinedAt)
            .ThenBy(static m => m.NodeId, StringComparer.Ordinal)
            .FirstOrDefault();
        if (count - expired.Count < target && candidate is not null)
        {
            // The joiner is live, so the larger configuration has at least as many live voters as it needs.
            return liveVoters + 1 >= Quorum.Majority(count + 1)
                ? new VoterChange.AddVoter(candidate.NodeId)
                : new VoterChange.None($"adding {candidate.NodeId} would leave {liveVoters + 1} of {count + 1} voters healthy, below a majority");
        }

        if (expired.Count > 0 && count > target)
        {
            // Removing a dead voter leaves the live ones; the smaller configuration must still have a majority of them.
            return liveVoters >= Quorum.Majority(count - 1)
                ? new VoterChange.RemoveVoter(expired[0])
                : new VoterChange.None($"removing {expired[0]} would leave too few healthy voters");
        }

        return new VoterChange.None(expired.Count > 0
            ? $"voter {expired[0]} is down but no healthy member can take its seat"
            : "the voters match the policy");
    }
}
