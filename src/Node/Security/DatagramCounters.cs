namespace Nanobox.Node.Security;

/// <summary>How many datagrams got each verdict, since start. Lock-free; read as a snapshot.</summary>
public sealed class DatagramCounters
{
    private static readonly DatagramVerdict[] Verdicts = Enum.GetValues<DatagramVerdict>();

    private readonly long[] _counts = new long[Verdicts.Length];

    public void Count(DatagramVerdict verdict) => Interlocked.Increment(ref _counts[(int)verdict]);

    public IReadOnlyDictionary<DatagramVerdict, long> Snapshot() =>
        Verdicts.ToDictionary(v => v, v => Interlocked.Read(ref _counts[(int)v]));
}
