using System.Buffers.Binary;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Cluster.Join;

namespace Nanobox.Node.Runtime.Distribution;

/// <summary>
/// An image archive on a connection, after the export's response: chunks, each a 4-byte big-endian length
/// and that many bytes of the `docker save` tar, then an end marker. A TLS stream that simply closes does
/// not say whether the sender finished (a cut connection reads like a clean end), so the end is explicit;
/// markers also carry heartbeats while the engine prepares the archive, and the sender's failure.
/// </summary>
internal static class ArchiveFraming
{
    /// <summary>The archive is complete.</summary>
    public const int End = 0;

    /// <summary>Nothing yet; the sender is alive.</summary>
    public const int Heartbeat = -1;

    /// <summary>The sender gave up; a control response frame with its reason follows.</summary>
    public const int Failed = -2;

    /// <summary>A chunk whose first 4 bytes of <paramref name="frame"/> were left free for its length.</summary>
    public static Task WriteChunkAsync(Stream connection, Memory<byte> frame, CancellationToken cancellationToken)
    {
        BinaryPrimitives.WriteInt32BigEndian(frame.Span, frame.Length - 4);
        return WriteAsync(connection, frame, cancellationToken);
    }

    public static Task WriteMarkerAsync(Stream connection, int marker, CancellationToken cancellationToken)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(header, marker);
        return WriteAsync(connection, header, cancellationToken);
    }

    public static async Task WriteFailureAsync(Stream connection, string reason, CancellationToken cancellationToken)
    {
        await WriteMarkerAsync(connection, Failed, cancellationToken).ConfigureAwait(false);
        await ControlFraming.WriteAsync(connection, new ControlResponse(ControlOutcome.Error, null, reason), ConsensusJsonContext.Default.ControlResponse, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A write the reader does not take within <see cref="DataPathLimits.WriteStallTimeout"/> fails with a <see cref="TimeoutException"/>.</summary>
    public static Task WriteAsync(Stream connection, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) =>
        Deadline.RunAsync(DataPathLimits.WriteStallTimeout, "the member did not take the stream", async token =>
        {
            await connection.WriteAsync(bytes, token).ConfigureAwait(false);
            await connection.FlushAsync(token).ConfigureAwait(false);
        }, cancellationToken);
}

/// <summary>
/// The archive a peer sends after an export response, as a read-only stream for `docker load`: chunks
/// decoded, heartbeats skipped. A failure the peer reports, a connection that ends before the end marker,
/// silence beyond the idle timeout and more than the size limit all throw an <see cref="IOException"/>
/// (or <see cref="TimeoutException"/>) naming the peer, so a cut-off archive is never taken for a whole one.
/// </summary>
internal sealed class ArchiveReadStream(Stream connection, string peerName, long maxBytes, TimeSpan idleTimeout) : Stream
{
    private readonly byte[] _header = new byte[4];
    private int _remaining;
    private bool _ended;

    public long BytesRead { get; private set; }

    /// <summary>Why reading failed, if it did: `docker load` reports a broken request body as an engine failure, which it is not.</summary>
    public Exception? Failure { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await ReadChunkAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or TimeoutException or InvalidDataException)
        {
            Failure ??= e;
            throw;
        }
    }

    private async Task<int> ReadChunkAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (buffer.Length == 0 || _ended)
        {
            return 0;
        }

        while (_remaining == 0)
        {
            if (await ReadIdleAsync(token => connection.ReadAtLeastAsync(_header, _header.Length, throwOnEndOfStream: false, token).AsTask(), cancellationToken).ConfigureAwait(false) < _header.Length)
            {
                throw CutOff();
            }

            var length = BinaryPrimitives.ReadInt32BigEndian(_header);
            switch (length)
            {
                case ArchiveFraming.End:
                    _ended = true;
                    return 0;
                case ArchiveFraming.Heartbeat:
                    continue;
                case ArchiveFraming.Failed:
                    var failure = await ReadIdleAsync(token => ControlFraming.ReadAsync(connection, ConsensusJsonContext.Default.ControlResponse, token), cancellationToken).ConfigureAwait(false);
                    throw new IOException($"{peerName} stopped sending the image: {failure?.Message ?? "no reason given"}");
                case > 0 and <= DataPathLimits.ArchiveChunkBytes:
                    _remaining = length;
                    break;
                default:
                    throw new InvalidDataException($"{peerName} sent a malformed image stream (chunk header {length})");
            }
        }

        var read = await ReadIdleAsync(token => connection.ReadAsync(buffer[..Math.Min(buffer.Length, _remaining)], token).AsTask(), cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            throw CutOff();
        }

        _remaining -= read;
        BytesRead += read;
        return BytesRead > maxBytes
            ? throw new IOException($"{peerName} sent more than {maxBytes >> 20} MiB, the limit for an image copied between nodes")
            : read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private EndOfStreamException CutOff() => new($"the connection to {peerName} closed after {BytesRead} bytes, before the image archive was complete");

    private Task<T> ReadIdleAsync<T>(Func<CancellationToken, Task<T>> read, CancellationToken cancellationToken) =>
        Deadline.RunAsync(idleTimeout, $"nothing came from {peerName}", read, cancellationToken);

    private Task ReadIdleAsync(Func<CancellationToken, Task> read, CancellationToken cancellationToken) =>
        Deadline.RunAsync(idleTimeout, $"nothing came from {peerName}", read, cancellationToken);
}
