namespace Nanobox.Node.Cluster.Membership;

/// <summary>
/// Lifeguard's local health awareness: a score from 0 (healthy) to max−1 that rises when this node's own
/// probes go unanswered without the relays' nacks to explain it, or when it is accused, and falls with
/// each clean probe. Timeouts and the probe interval are multiplied by score+1, so a node that is itself
/// slow (CPU starved, dropping packets) waits longer before accusing others.
/// </summary>
internal sealed class Awareness(int max)
{
    private int _score;

    public int Score => Volatile.Read(ref _score);

    public void Apply(int delta)
    {
        int current, next;
        do
        {
            current = Volatile.Read(ref _score);
            next = Math.Clamp(current + delta, 0, max - 1);
        }
        while (Interlocked.CompareExchange(ref _score, next, current) != current);
    }

    public TimeSpan Scale(TimeSpan timeout) => timeout * (Score + 1);
}
