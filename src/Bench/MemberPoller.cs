using System.Collections.Concurrent;
using System.Diagnostics;
using Nanobox.Lab;

namespace Nanobox.Bench;

/// <summary>
/// Polls `nanobox members --json` on lab hosts, each host on its own loop that starts a call every
/// <see cref="Interval"/> (or at once when the last call took longer), until each sees what it waits
/// for. A sighting is timed at the end of the call that returned it, so every figure includes up to
/// one poll period plus one CLI call of observation delay; the calls' own durations are recorded.
/// At most <paramref name="concurrentCalls"/> CLI processes run at once, so that the observer does not
/// take the CPU from the agents it observes.
/// </summary>
public sealed class MemberPoller(TimeSpan interval, int concurrentCalls)
{
    private readonly SemaphoreSlim _gate = new(concurrentCalls);
    private readonly ConcurrentQueue<double> _callMilliseconds = new();
    private readonly ConcurrentQueue<double> _periodMilliseconds = new();

    public TimeSpan Interval { get; } = interval;

    /// <summary>Duration of every `members --json` call so far (process start to exit).</summary>
    public IReadOnlyCollection<double> CallMilliseconds => _callMilliseconds;

    /// <summary>Time between the ends of successive calls on one host: the real sampling period.</summary>
    public IReadOnlyCollection<double> PeriodMilliseconds => _periodMilliseconds;

    /// <summary>For each host, the time from <paramref name="start"/> (a <see cref="Stopwatch"/> timestamp) until it first reported rows matching <paramref name="seen"/>.</summary>
    public Task<TimeSpan[]> UntilEachAsync(IEnumerable<LabHost> hosts, long start, Func<IReadOnlyList<ClusterMember>, bool> seen, TimeSpan timeout, CancellationToken ct) =>
        Task.WhenAll(hosts.Select(h => UntilAsync(h, start, seen, timeout, ct)));

    public async Task<TimeSpan> UntilAsync(LabHost host, long start, Func<IReadOnlyList<ClusterMember>, bool> seen, TimeSpan timeout, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        long? lastEnd = null;
        try
        {
            while (true)
            {
                var callStart = Stopwatch.GetTimestamp();
                var rows = await CallAsync(host, limit.Token);
                var callEnd = Stopwatch.GetTimestamp();
                if (lastEnd is { } previous)
                {
                    _periodMilliseconds.Enqueue(Stopwatch.GetElapsedTime(previous, callEnd).TotalMilliseconds);
                }

                lastEnd = callEnd;
                if (seen(rows))
                {
                    return Stopwatch.GetElapsedTime(start, callEnd);
                }

                var wait = Interval - Stopwatch.GetElapsedTime(callStart);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, limit.Token);
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"{host.Name} did not report the expected members within {timeout.TotalSeconds:0} s\n{host.LogTail(25)}");
        }
    }

    private async Task<IReadOnlyList<ClusterMember>> CallAsync(LabHost host, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var started = Stopwatch.GetTimestamp();
            var rows = await ClusterProbe.MembersAsync(host, ct);
            _callMilliseconds.Enqueue(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return rows;
        }
        finally
        {
            _gate.Release();
        }
    }
}
