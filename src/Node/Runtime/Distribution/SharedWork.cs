namespace Nanobox.Node.Runtime.Distribution;

/// <summary>
/// One run of a piece of work per key at a time, shared by every caller that asks for that key meanwhile
/// (so concurrent requests for one image make one copy). A caller that gives up stops waiting; the work
/// itself is cancelled only when no caller waits for it any more.
/// </summary>
internal sealed class SharedWork<TKey, TResult>
    where TKey : notnull
{
    // A leaf lock: neither the work nor its cancellation runs under it.
    private readonly Lock _lock = new();
    private readonly Dictionary<TKey, Run> _runs = [];

    /// <summary>Runs currently under way (for tests and status).</summary>
    public int Running
    {
        get
        {
            lock (_lock)
            {
                return _runs.Count;
            }
        }
    }

    public async Task<TResult> RunAsync(TKey key, Func<CancellationToken, Task<TResult>> work, CancellationToken cancellationToken)
    {
        Run run;
        lock (_lock)
        {
            if (!_runs.TryGetValue(key, out run!))
            {
                run = new Run();
                _runs[key] = run;
                run.Task = StartAsync(key, run, work);
            }

            run.Waiters++;
        }

        try
        {
            return await run.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            bool abandoned;
            lock (_lock)
            {
                // A run whose waiters all left is forgotten at once: a newcomer starts afresh rather than inherit its cancellation.
                abandoned = --run.Waiters == 0 && !run.Task.IsCompleted;
                if (abandoned)
                {
                    Forget(key, run);
                }
            }

            // Outside the lock: cancelling runs the work's callbacks and continuations inline.
            if (abandoned)
            {
                run.Cancellation.Cancel();
            }
        }
    }

    private async Task<TResult> StartAsync(TKey key, Run run, Func<CancellationToken, Task<TResult>> work)
    {
        // Off the caller's lock before any of the work runs.
        await Task.Yield();
        try
        {
            return await work(run.Cancellation.Token).ConfigureAwait(false);
        }
        finally
        {
            lock (_lock)
            {
                Forget(key, run);
            }
        }
    }

    private void Forget(TKey key, Run run)
    {
        if (_runs.TryGetValue(key, out var current) && current == run)
        {
            _runs.Remove(key);
        }
    }

    private sealed class Run
    {
        // Never disposed: it has no timer or linked registrations, and a late waiter may still cancel it.
        public CancellationTokenSource Cancellation { get; } = new();

        public Task<TResult> Task { get; set; } = null!;

        public int Waiters { get; set; }
    }
}
