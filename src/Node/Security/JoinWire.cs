using System.Text.Json;

namespace Nanobox.Node.Security;

/// <summary>Join messages as JSON in length-prefixed frames.</summary>
public static class JoinWire
{
    public static ValueTask WriteAsync(Stream stream, JoinMessage message, CancellationToken cancellationToken) =>
        LengthPrefixedFrames.WriteAsync(stream, Encode(message), cancellationToken);

    /// <exception cref="ProtocolException">The frame or the message is malformed.</exception>
    public static async ValueTask<JoinMessage> ReadAsync(Stream stream, CancellationToken cancellationToken) =>
        Decode(await LengthPrefixedFrames.ReadAsync(stream, cancellationToken));

    public static byte[] Encode(JoinMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, JoinJsonContext.Default.JoinMessage);

    /// <exception cref="ProtocolException">Not a join message.</exception>
    public static JoinMessage Decode(ReadOnlySpan<byte> payload)
    {
        try
        {
            return JsonSerializer.Deserialize(payload, JoinJsonContext.Default.JoinMessage)
                ?? throw new ProtocolException("the peer sent an empty join message");
        }
        catch (Exception error) when (error is JsonException or NotSupportedException or InvalidOperationException or FormatException)
        {
            throw new ProtocolException("the peer sent a malformed join message", error);
        }
    }
}
