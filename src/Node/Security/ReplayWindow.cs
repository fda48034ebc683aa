namespace Nanobox.Node.Security;

/// <summary>
/// Refuses a datagram seen before: remembers the nonces of authentic datagrams for as long as their
/// timestamps stay acceptable (±<see cref="Window"/>), and nothing older. Memory is bounded: when
/// full, the oldest nonce is forgotten and the acceptance floor rises to its timestamp, so anything
/// that could have been forgotten is refused as stale rather than let through as new.
/// </summary>
public sealed class ReplayWindow
{
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromSeconds(30);
    public const int DefaultCapacity = 32 * 1024;

    private readonly long _windowMs;
    private readonly int _capacity;
    // A leaf lock, taken on the gossip receive path: nothing is called out under it.
    private readonly Lock _lock = new();
    private readonly Dictionary<UInt128, long> _seen = [];
    private readonly PriorityQueue<UInt128, long> _byAge = new();
    private long _floorMs = long.MinValue;

    public ReplayWindow(TimeSpan? window = null, int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Window = window ?? DefaultWindow;
        _windowMs = (long)Window.TotalMilliseconds;
        _capacity = capacity;
    }

    public TimeSpan Window { get; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _seen.Count;
            }
        }
    }

    /// <returns><see cref="DatagramVerdict.Accepted"/> (and remembered), <see cref="DatagramVerdict.Replayed"/> or <see cref="DatagramVerdict.Stale"/>.</returns>
    public DatagramVerdict Check(UInt128 nonce, long timestampMs, long nowMs)
    {
        if (timestampMs < nowMs - _windowMs || timestampMs > nowMs + _windowMs)
        {
            return DatagramVerdict.Stale;
        }

        lock (_lock)
        {
            while (_byAge.TryPeek(out var oldest, out var oldestMs) && oldestMs < nowMs - _windowMs)
            {
                _byAge.Dequeue();
                _seen.Remove(oldest);
            }

            if (_seen.ContainsKey(nonce))
            {
                return DatagramVerdict.Replayed;
            }

            if (timestampMs <= _floorMs)
            {
                return DatagramVerdict.Stale;
            }

            if (_seen.Count >= _capacity)
            {
                _byAge.TryDequeue(out var evicted, out var evictedMs);
                _seen.Remove(evicted);
                _floorMs = Math.Max(_floorMs, evictedMs);
                if (timestampMs <= _floorMs)
                {
                    return DatagramVerdict.Stale;
                }
            }

            _seen.Add(nonce, timestampMs);
            _byAge.Enqueue(nonce, timestampMs);
            return DatagramVerdict.Accepted;
        }
    }
}
