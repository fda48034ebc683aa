using Nanobox.Node.Security;

namespace Nanobox.Node.Tests.Cluster;

/// <summary>
/// Stands in for AES-GCM: a one-byte marker instead of a tag. Marker 1 opens, 2 is reported as a replay,
/// anything else as forged, an empty datagram as truncated, so drop counting can be tested.
/// </summary>
internal sealed class MarkerProtector : IDatagramProtector
{
    public const byte Good = 1;
    public const byte Replay = 2;

    public int Overhead => 1;

    public int Seal(ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        destination[0] = Good;
        plaintext.CopyTo(destination[1..]);
        return plaintext.Length + 1;
    }

    public DatagramVerdict Open(ReadOnlySpan<byte> datagram, Span<byte> plaintext, out int written)
    {
        written = 0;
        if (datagram.Length < 1)
        {
            return DatagramVerdict.Truncated;
        }

        if (datagram[0] != Good)
        {
            return datagram[0] == Replay ? DatagramVerdict.Replayed : DatagramVerdict.Forged;
        }

        datagram[1..].CopyTo(plaintext);
        written = datagram.Length - 1;
        return DatagramVerdict.Accepted;
    }
}

/// <summary>No TLS: the stream as it is; the peer's id is whatever the caller expected.</summary>
internal sealed class PassThroughStreamSecurity : IStreamSecurity
{
    public Task<(Stream Stream, string PeerNodeId)> ConnectAsync(Stream transport, string? expectedNodeId, CancellationToken cancellationToken) =>
        Task.FromResult((transport, expectedNodeId ?? string.Empty));

    public Task<(Stream Stream, string PeerNodeId)> AcceptAsync(Stream transport, CancellationToken cancellationToken) =>
        Task.FromResult((transport, string.Empty));
}
