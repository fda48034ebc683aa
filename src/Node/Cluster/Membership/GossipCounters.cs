using Nanobox.Node.Security;

namespace Nanobox.Node.Cluster.Membership;

/// <summary>
/// Traffic and drop counters of one node's gossip. Every dropped datagram or frame is counted by reason:
/// the protector's verdict (forged, replayed, truncated...) or the codec's error. Thread-safe.
/// </summary>
public sealed class GossipCounters
{
    private static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(10);

    private readonly long[] _verdicts = new long[Enum.GetValues<DatagramVerdict>().Length];
    private readonly long[] _decodeErrors = new long[Enum.GetValues<GossipDecodeError>().Length];
    private readonly long[] _lastLogged = new long[Enum.GetValues<DatagramVerdict>().Length + Enum.GetValues<GossipDecodeError>().Length];
    private long _datagramsSent;
    private long _datagramsReceived;
    private long _bytesSent;
    private long _bytesReceived;

    public long DatagramsSent => Interlocked.Read(ref _datagramsSent);

    public long DatagramsReceived => Interlocked.Read(ref _datagramsReceived);

    /// <summary>Datagram and stream bytes sent, as they went on the wire (sealed).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    public long Dropped(DatagramVerdict verdict) => Interlocked.Read(ref _verdicts[(int)verdict]);

    public long Dropped(GossipDecodeError error) => Interlocked.Read(ref _decodeErrors[(int)error]);

    public long TotalDropped => _verdicts.Sum() + _decodeErrors.Sum();

    /// <summary>Drops by reason, non-zero ones only, named "protector:Forged", "codec:Truncated"... (for metrics and <c>nanobox members</c>).</summary>
    public IReadOnlyDictionary<string, long> DropsByReason()
    {
        var drops = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var verdict in Enum.GetValues<DatagramVerdict>())
        {
            AddIfAny(drops, $"protector:{verdict}", Dropped(verdict));
        }

        foreach (var error in Enum.GetValues<GossipDecodeError>())
        {
            AddIfAny(drops, $"codec:{error}", Dropped(error));
        }

        return drops;
    }

    internal void Sent(int bytes)
    {
        Interlocked.Increment(ref _datagramsSent);
        Interlocked.Add(ref _bytesSent, bytes);
    }

    internal void Received(int bytes)
    {
        Interlocked.Increment(ref _datagramsReceived);
        Interlocked.Add(ref _bytesReceived, bytes);
    }

    internal void StreamBytes(long sent, long received)
    {
        Interlocked.Add(ref _bytesSent, sent);
        Interlocked.Add(ref _bytesReceived, received);
    }

    /// <summary>Counts a drop; true when it should be logged (at most once per reason every 10 s).</summary>
    internal bool Drop(DatagramVerdict verdict, TimeProvider time) => Count(_verdicts, (int)verdict, (int)verdict, time);

    internal bool Drop(GossipDecodeError error, TimeProvider time) => Count(_decodeErrors, (int)error, _verdicts.Length + (int)error, time);

    private static void AddIfAny(Dictionary<string, long> drops, string reason, long count)
    {
        if (count > 0)
        {
            drops[reason] = count;
        }
    }

    private bool Count(long[] counters, int index, int logSlot, TimeProvider time)
    {
        Interlocked.Increment(ref counters[index]);
        var now = time.GetTimestamp();
        var last = Interlocked.Read(ref _lastLogged[logSlot]);
        return (last == 0 || time.GetElapsedTime(last, now) >= LogEvery)
            && Interlocked.CompareExchange(ref _lastLogged[logSlot], now, last) == last;
    }
}
