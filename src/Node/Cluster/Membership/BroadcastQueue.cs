namespace Nanobox.Node.Cluster.Membership;

/// <summary>
/// Gossip waiting to be piggybacked, each message sent at most <see cref="RetransmitLimit"/> times.
/// Messages are keyed by the member they are about: a newer one replaces an older one still queued.
/// The least-sent (then newest) go first, so fresh news spreads before old news is repeated.
/// Never calls out (the member count, waiters) while holding its lock: callers enqueue under locks of their own.
/// </summary>
internal sealed class BroadcastQueue(int retransmitMultiplier, Func<int> memberCount)
{
    private readonly Lock _gate = new();
    private readonly List<Entry> _entries = [];
    private long _nextSequence;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Transmissions per message: multiplier × ⌈log10(n + 1)⌉, enough for epidemic spread to reach everyone with high probability.</summary>
    public static int RetransmitLimit(int multiplier, int members) => multiplier * (int)Math.Ceiling(Math.Log10(members + 1));

    /// <param name="done">Completed once the message has been sent its last time or replaced (graceful leave waits on it).</param>
    public void Enqueue(string key, byte[] message, TaskCompletionSource? done = null)
    {
        Entry? replaced;
        lock (_gate)
        {
            var index = _entries.FindIndex(e => e.Key == key);
            replaced = index >= 0 ? _entries[index] : null;
            if (index >= 0)
            {
                _entries.RemoveAt(index);
            }

            _entries.Add(new Entry(key, message, _nextSequence++, done));
        }

        replaced?.Done?.TrySetResult();
    }

    /// <summary>Takes messages that fit in <paramref name="budget"/> bytes, counting <paramref name="overheadPerMessage"/> for each, and counts one transmission for each.</summary>
    public List<byte[]> Take(int overheadPerMessage, int budget)
    {
        var taken = new List<byte[]>();
        List<Entry>? finished = null;
        // Asked before taking the lock: the count comes from the memberlist under its own lock, and the
        // memberlist enqueues while holding that lock, so calling out from inside ours would deadlock both.
        var limit = RetransmitLimit(retransmitMultiplier, memberCount());
        lock (_gate)
        {
            _entries.Sort(static (a, b) => a.Transmits != b.Transmits ? a.Transmits.CompareTo(b.Transmits) : b.Sequence.CompareTo(a.Sequence));
            foreach (var entry in _entries)
            {
                var size = entry.Message.Length + overheadPerMessage;
                if (size > budget)
                {
                    continue;
                }

                budget -= size;
                taken.Add(entry.Message);
                if (++entry.Transmits >= limit)
                {
                    (finished ??= []).Add(entry);
                }
            }

            if (finished is not null)
            {
                _entries.RemoveAll(finished.Contains);
            }
        }

        finished?.ForEach(e => e.Done?.TrySetResult());
        return taken;
    }

    private sealed class Entry(string key, byte[] message, long sequence, TaskCompletionSource? done)
    {
        public string Key { get; } = key;

        public byte[] Message { get; } = message;

        public long Sequence { get; } = sequence;

        public TaskCompletionSource? Done { get; } = done;

        public int Transmits { get; set; }
    }
}
