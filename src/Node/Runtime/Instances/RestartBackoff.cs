namespace Nanobox.Node.Runtime.Instances;

/// <summary>
/// When an exited container may be started again: 1 s after it exits, doubling with each quick failure in a
/// row (a run shorter than <see cref="QuickRun"/>) up to the component's maximum; a run that lasts resets it.
/// After <see cref="CrashLoopAfter"/> quick failures in a row the instance is reported as crash-looping.
/// Kept in memory per container: a new container (a redeploy) starts afresh, and so does a restarted agent.
/// </summary>
public sealed class RestartBackoff
{
    public static readonly TimeSpan First = TimeSpan.FromSeconds(1);

    /// <summary>A run shorter than this counts as a failure to start.</summary>
    public static readonly TimeSpan QuickRun = TimeSpan.FromSeconds(10);

    public const int CrashLoopAfter = 3;

    private readonly Dictionary<string, Track> _tracks = new(StringComparer.Ordinal);

    /// <summary>One container's history as the agent saw it.</summary>
    private sealed class Track
    {
        public int QuickFailures;
        public int Restarts;
        public DateTimeOffset? SeenFinish;
    }

    /// <summary>What the back-off says of a container now.</summary>
    /// <param name="NextStart">When it may be started again; null while it runs.</param>
    public readonly record struct Verdict(int Restarts, bool CrashLooping, DateTimeOffset? NextStart);

    /// <summary>Takes in what the engine says of <paramref name="container"/> and what follows for it.</summary>
    /// <param name="maxDelay">The component's restart_backoff_max.</param>
    public Verdict Observe(string containerId, bool running, DateTimeOffset? startedAt, DateTimeOffset? finishedAt, TimeSpan maxDelay, DateTimeOffset now)
    {
        if (!_tracks.TryGetValue(containerId, out var track))
        {
            _tracks[containerId] = track = new Track();
        }

        if (running)
        {
            if (startedAt is { } started && now - started >= QuickRun)
            {
                track.QuickFailures = 0;
            }

            return new Verdict(track.Restarts, track.QuickFailures >= CrashLoopAfter, null);
        }

        if (finishedAt is { } finished && finished != track.SeenFinish)
        {
            track.SeenFinish = finished;
            track.QuickFailures = startedAt is { } began && finished - began < QuickRun ? track.QuickFailures + 1 : 0;
        }

        var delay = track.QuickFailures <= 1 ? First : First * Math.Pow(2, Math.Min(track.QuickFailures - 1, 30));
        var next = (finishedAt ?? now) + (delay < maxDelay ? delay : maxDelay);
        return new Verdict(track.Restarts, track.QuickFailures >= CrashLoopAfter, next);
    }

    /// <summary>The agent started the container again.</summary>
    public void Started(string containerId)
    {
        if (_tracks.TryGetValue(containerId, out var track))
        {
            track.Restarts++;
        }
    }

    /// <summary>Forgets containers that are gone.</summary>
    public void Keep(IEnumerable<string> containerIds)
    {
        var keep = containerIds.ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _tracks.Keys.Where(id => !keep.Contains(id)).ToList())
        {
            _tracks.Remove(gone);
        }
    }
}
