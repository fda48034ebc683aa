using System.Buffers.Binary;

namespace Nanobox.Node.Security;

/// <summary>The peer broke the wire protocol: an oversize or truncated frame, a message that does not parse. The message says which, for a person.</summary>
public sealed class ProtocolException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>
/// Messages on a stream as a 4-byte big-endian length then the payload. The length is checked
/// against a maximum before anything is allocated, so a peer cannot make this node reserve memory
/// by announcing a huge frame.
/// </summary>
public static class LengthPrefixedFrames
{
    public const int DefaultMaxFrameBytes = 64 * 1024;

    public static async ValueTask WriteAsync(Stream stream, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken, int maxFrameBytes = DefaultMaxFrameBytes)
    {
        if (payload.Length > maxFrameBytes)
        {
            throw new ProtocolException($"a {payload.Length}-byte frame exceeds the {maxFrameBytes}-byte limit");
        }

        var header = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(header, payload.Length);
        await stream.WriteAsync(header, cancellationToken);
        await stream.WriteAsync(payload, cancellationToken);
        await stream.FlushAsync(cancellationToken);
    }

    /// <exception cref="ProtocolException">The stream ended before or inside a frame, or the frame is over the limit.</exception>
    public static async ValueTask<byte[]> ReadAsync(Stream stream, CancellationToken cancellationToken, int maxFrameBytes = DefaultMaxFrameBytes)
    {
        var header = new byte[4];
        var read = await stream.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken);
        if (read == 0)
        {
            throw new ProtocolException("the peer closed the connection");
        }

        if (read < header.Length)
        {
            throw new ProtocolException("the stream ended inside a frame header");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length > maxFrameBytes)
        {
            throw new ProtocolException($"the peer announced a {length}-byte frame, over the {maxFrameBytes}-byte limit");
        }

        var payload = new byte[length];
        if (await stream.ReadAtLeastAsync(payload, payload.Length, throwOnEndOfStream: false, cancellationToken) < payload.Length)
        {
            throw new ProtocolException($"the stream ended inside a {length}-byte frame");
        }

        return payload;
    }
}
