namespace Nanobox.Node.Cluster.Membership;

/// <summary>
/// Lifeguard's dynamic suspicion timeout for one suspected member. The timer starts at <c>max</c> and
/// shrinks logarithmically toward <c>min</c> as independent members confirm the suspicion: one lonely
/// (perhaps overloaded) accuser waits long, a chorus of accusers converges fast.
/// </summary>
internal sealed class Suspicion : IDisposable
{
    private readonly HashSet<string> _confirmedBy;
    private readonly int _expectedConfirmations;
    private readonly TimeSpan _min;
    private readonly TimeSpan _max;
    private readonly long _startedAt;
    private readonly TimeProvider _time;
    private readonly ITimer _timer;

    /// <param name="accuser">The member whose suspicion started this timer; its later messages are not confirmations.</param>
    /// <param name="expectedConfirmations">Confirmations after which the timeout reaches <paramref name="min"/>; 0 means start at min.</param>
    public Suspicion(string accuser, int expectedConfirmations, TimeSpan min, TimeSpan max, TimeProvider time, Action onTimeout)
    {
        _confirmedBy = new HashSet<string>(StringComparer.Ordinal) { accuser };
        _expectedConfirmations = expectedConfirmations;
        _min = min;
        _max = max;
        _time = time;
        _startedAt = time.GetTimestamp();
        _timer = time.CreateTimer(_ => onTimeout(), null, Timeout(0, expectedConfirmations, min, max), System.Threading.Timeout.InfiniteTimeSpan);
    }

    public int Confirmations => _confirmedBy.Count - 1;

    /// <summary>The timeout after <paramref name="confirmations"/> of <paramref name="expected"/>: max − (max − min)·log(c+1)/log(k+1), never below min.</summary>
    public static TimeSpan Timeout(int confirmations, int expected, TimeSpan min, TimeSpan max)
    {
        if (expected < 1 || max <= min)
        {
            return min;
        }

        var fraction = Math.Log(confirmations + 1) / Math.Log(expected + 1);
        var timeout = max - ((max - min) * fraction);
        return timeout < min ? min : timeout;
    }

    /// <summary>Records an independent confirmation; false if <paramref name="from"/> already counted or none are needed.</summary>
    public bool Confirm(string from)
    {
        if (Confirmations >= _expectedConfirmations || !_confirmedBy.Add(from))
        {
            return false;
        }

        var remaining = Timeout(Confirmations, _expectedConfirmations, _min, _max) - _time.GetElapsedTime(_startedAt);
        _timer.Change(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, System.Threading.Timeout.InfiniteTimeSpan);
        return true;
    }

    public void Dispose() => _timer.Dispose();
}
