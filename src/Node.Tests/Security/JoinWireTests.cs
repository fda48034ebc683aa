using System.Buffers.Binary;
using Nanobox.Node.Security;

namespace Nanobox.Node.Tests.Security;

public sealed class JoinWireTests
{
    [Fact]
    public async Task Every_message_round_trips_through_a_frame()
    {
        JoinMessage[] messages =
        [
            new JoinHello(JoinHello.CurrentVersion, [1, 2, 3], [4, 5]),
            new JoinRequest([6], "node1", "web-1", ["10.0.0.7", "fd00::7"], [7, 8], [9]),
            new JoinResponse([10], [11], [12], [new JoinedMember("node0", "db-1", "10.0.0.2")], "cluster-a", [13]),
            JoinError.BadProof(),
        ];
        using var stream = new MemoryStream();

        foreach (var message in messages)
        {
            await JoinWire.WriteAsync(stream, message, CancellationToken.None);
        }

        stream.Position = 0;
        foreach (var message in messages)
        {
            var read = await JoinWire.ReadAsync(stream, CancellationToken.None);
            Assert.Equal(message.GetType(), read.GetType());
            Assert.Equal(JoinWire.Encode(message), JoinWire.Encode(read));
        }
    }

    [Fact]
    public async Task An_oversize_frame_is_refused_before_its_payload_is_read_or_allocated()
    {
        var header = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(header, LengthPrefixedFrames.DefaultMaxFrameBytes + 1);

        var error = await Assert.ThrowsAsync<ProtocolException>(() => LengthPrefixedFrames.ReadAsync(new MemoryStream(header), CancellationToken.None).AsTask());

        Assert.Contains("over the 65536-byte limit", error.Message);
    }

    [Fact]
    public async Task An_oversize_message_is_not_written()
    {
        using var stream = new MemoryStream();

        await Assert.ThrowsAsync<ProtocolException>(() => LengthPrefixedFrames.WriteAsync(stream, new byte[LengthPrefixedFrames.DefaultMaxFrameBytes + 1], CancellationToken.None).AsTask());
        Assert.Equal(0, stream.Length);
    }

    [Fact]
    public async Task Every_truncation_of_a_frame_is_refused_cleanly()
    {
        using var whole = new MemoryStream();
        await JoinWire.WriteAsync(whole, new JoinHello(JoinHello.CurrentVersion, [1, 2, 3], [4, 5]), CancellationToken.None);
        var bytes = whole.ToArray();

        for (var length = 0; length < bytes.Length; length++)
        {
            var error = await Assert.ThrowsAsync<ProtocolException>(() => JoinWire.ReadAsync(new MemoryStream(bytes[..length]), CancellationToken.None).AsTask());
            Assert.Contains(length == 0 ? "closed the connection" : "ended inside", error.Message);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("{\"type\":\"bogus\"}")]
    [InlineData("{\"type\":\"hello\",\"serverNonce\":\"AQID\"}")]
    [InlineData("{\"type\":\"hello\",\"serverNonce\":null,\"caCertificate\":\"AQID\"}")]
    [InlineData("{\"type\":\"hello\",\"serverNonce\":\"not base64!\",\"caCertificate\":\"AQID\"}")]
    public void Malformed_or_incomplete_messages_are_protocol_errors(string json)
    {
        Assert.Throws<ProtocolException>(() => JoinWire.Decode(System.Text.Encoding.UTF8.GetBytes(json)));
    }
}
