namespace Nanobox.Node.Tests.Cluster;

/// <summary>
/// Virtual time: timers fire only when the test advances the clock, in due order, on the advancing thread.
/// With the engine's ConfigureAwait(false) awaits and an in-memory network, a whole cluster then runs
/// deterministically on one thread, minutes of protocol time in seconds.
/// </summary>
internal sealed class VirtualClock : TimeProvider
{
    private static readonly DateTimeOffset Epoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly Lock _gate = new();
    private readonly PriorityQueue<Scheduled, (long Due, long Order)> _queue = new();
    private long _now;
    private long _order;

    public TimeSpan Elapsed => TimeSpan.FromTicks(Interlocked.Read(ref _now));

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override DateTimeOffset GetUtcNow() => Epoch + Elapsed;

    public override long GetTimestamp() => Interlocked.Read(ref _now);

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new VirtualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Runs <paramref name="action"/> after <paramref name="delay"/> of virtual time.</summary>
    public void Schedule(TimeSpan delay, Action action) => Enqueue(new Scheduled(action, null, 0), delay);

    public void Advance(TimeSpan duration)
    {
        var target = Interlocked.Read(ref _now) + duration.Ticks;
        while (true)
        {
            Scheduled next;
            lock (_gate)
            {
                if (!_queue.TryPeek(out next, out var due) || due.Due > target)
                {
                    break;
                }

                _queue.Dequeue();
                Interlocked.Exchange(ref _now, Math.Max(_now, due.Due));
            }

            next.Run();
        }

        Interlocked.Exchange(ref _now, Math.Max(Interlocked.Read(ref _now), target));
    }

    private void Enqueue(Scheduled item, TimeSpan delay)
    {
        lock (_gate)
        {
            _queue.Enqueue(item, (_now + Math.Max(0, delay.Ticks), _order++));
        }
    }

    private readonly record struct Scheduled(Action? Action, VirtualTimer? Timer, long Generation)
    {
        public void Run()
        {
            Action?.Invoke();
            Timer?.Fire(Generation);
        }
    }

    private sealed class VirtualTimer(VirtualClock clock, TimerCallback callback, object? state) : ITimer
    {
        private long _generation;
        private TimeSpan _period = Timeout.InfiniteTimeSpan;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            var generation = Interlocked.Increment(ref _generation);
            _period = period;
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                clock.Enqueue(new Scheduled(null, this, generation), dueTime);
            }

            return true;
        }

        public void Fire(long generation)
        {
            if (Interlocked.Read(ref _generation) != generation)
            {
                return;
            }

            if (_period != Timeout.InfiniteTimeSpan && _period > TimeSpan.Zero)
            {
                clock.Enqueue(new Scheduled(null, this, generation), _period);
            }

            callback(state);
        }

        public void Dispose() => Interlocked.Exchange(ref _generation, -1);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
