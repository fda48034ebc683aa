using System.Net;
using Nanobox.Node.Cluster.Membership;

namespace Nanobox.Node.Tests.Cluster;

public sealed class GossipCodecTests
{
    private const string A = "aaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string B = "bbbbbbbbbbbbbbbbbbbbbbbb23";

    private static readonly NodeMeta Meta = new(
        "host-1",
        [IPAddress.Parse("192.0.2.10"), IPAddress.Parse("2001:db8::10")],
        7946,
        7947,
        "manager",
        "0.1.0",
        new Dictionary<string, string> { ["zone"] = "a", ["rack"] = "r7" },
        new IPEndPoint(IPAddress.Parse("192.0.2.10"), 8472),
        1,
        [.. Enumerable.Range(0, 32).Select(i => (byte)(i * 7))]);

    private static readonly List<GossipMessage> AllMessages =
    [
        new PingMessage(1, A, B),
        new IndirectPingMessage(uint.MaxValue, A, new IPEndPoint(IPAddress.Parse("2001:db8::1"), 7946), B),
        new AckMessage(42),
        new NackMessage(43),
        new SuspectMessage(A, 7, B),
        new AliveMessage(A, 8, Meta),
        new AliveMessage(B, 0, Meta with { Labels = new Dictionary<string, string>(), OverlayEndpoint = null, OverlayVni = 0, OverlayEndpoints = null }),
        new DeadMessage(A, 9, B),
        new LeaveMessage(B, 10),
    ];

    public static TheoryData<int> MessageIndexes => [.. Enumerable.Range(0, AllMessages.Count)];

    [Theory]
    [MemberData(nameof(MessageIndexes))]
    public void Every_message_round_trips_as_a_datagram(int index)
    {
        var message = AllMessages[index];
        var decoded = new List<GossipMessage>();

        Assert.Equal(GossipDecodeError.None, GossipCodec.TryDecodeDatagram(GossipCodec.Encode(message), decoded));

        Assert.Equal(message, Assert.Single(decoded));
    }

    [Fact]
    public void A_compound_carries_several_messages_in_order()
    {
        var messages = AllMessages;
        var decoded = new List<GossipMessage>();

        var payload = GossipCodec.Compound([.. messages.Select(GossipCodec.Encode)]);

        Assert.Equal(GossipDecodeError.None, GossipCodec.TryDecodeDatagram(payload, decoded));
        Assert.Equal(messages, decoded);
    }

    [Fact]
    public void Push_pull_state_round_trips_as_a_frame_and_is_refused_in_a_datagram()
    {
        var state = new PushPullMessage([new PushPullEntry(A, 3, MemberState.Suspect, Meta), new PushPullEntry(B, 1, MemberState.Left, Meta)]);
        var body = GossipCodec.Encode(state);

        Assert.Equal(GossipDecodeError.None, GossipCodec.TryDecodeFrame(body, out var decoded));
        var members = Assert.IsType<PushPullMessage>(decoded).Members;
        Assert.Equal(state.Members, members);
        Assert.Equal(GossipDecodeError.Misplaced, GossipCodec.TryDecodeDatagram(body, []));
    }

    [Fact]
    public async Task Frames_round_trip_through_a_stream_and_oversized_ones_are_refused()
    {
        var (client, server) = InMemoryStream.CreatePair();
        await GossipCodec.WriteFrameAsync(client, new AckMessage(5), CancellationToken.None);
        var (message, error, size) = await GossipCodec.ReadFrameAsync(server, 1024, CancellationToken.None);
        Assert.Equal((new AckMessage(5), GossipDecodeError.None, 9), (message, error, size));

        await GossipCodec.WriteFrameAsync(client, new AliveMessage(A, 1, Meta), CancellationToken.None);
        Assert.Equal(GossipDecodeError.TooLarge, (await GossipCodec.ReadFrameAsync(server, 16, CancellationToken.None)).Error);

        (client, server) = InMemoryStream.CreatePair();
        await client.WriteAsync(new byte[] { 0, 0, 0, 9, 3 });
        client.Dispose();
        Assert.Equal(GossipDecodeError.Truncated, (await GossipCodec.ReadFrameAsync(server, 1024, CancellationToken.None)).Error);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF }, GossipDecodeError.UnknownType)]
    [InlineData(new byte[] { 3, 0, 0 }, GossipDecodeError.Truncated)]
    [InlineData(new byte[] { 3, 0, 0, 0, 1, 0 }, GossipDecodeError.TrailingBytes)]
    [InlineData(new byte[] { 9, 1, 0, 1, 9 }, GossipDecodeError.Misplaced)]
    [InlineData(new byte[] { 8, 2, (byte)'a', (byte)'b', 0, 0, 0, 1 }, GossipDecodeError.InvalidField)]
    public void Malformed_datagrams_fail_with_a_reason(byte[] payload, GossipDecodeError expected)
    {
        var decoded = new List<GossipMessage>();

        Assert.Equal(expected, GossipCodec.TryDecodeDatagram(payload, decoded));
        Assert.Empty(decoded);
    }

    [Fact]
    public void A_bad_part_discards_the_whole_compound()
    {
        var payload = GossipCodec.Compound([GossipCodec.Encode(new AckMessage(1)), [0xFF]]);
        var decoded = new List<GossipMessage>();

        Assert.Equal(GossipDecodeError.UnknownType, GossipCodec.TryDecodeDatagram(payload, decoded));
        Assert.Empty(decoded);
    }

    /// <summary>
    /// The decoder faces the network: random bytes, every truncation and every single-bit flip of valid
    /// datagrams must yield a result or an error, never an exception. Fixed seed, so a failure reproduces.
    /// </summary>
    [Fact]
    public void Fuzz_the_decoder_never_throws()
    {
        var random = new Random(20250101);
        var valid = AllMessages.Select(GossipCodec.Encode).ToList();
        valid.Add(GossipCodec.Compound([.. valid]));
        var cases = 0;
        var accepted = 0;

        void Decode(ReadOnlySpan<byte> payload)
        {
            var decoded = new List<GossipMessage>();
            if (GossipCodec.TryDecodeDatagram(payload, decoded) == GossipDecodeError.None)
            {
                accepted++;
                Assert.NotEmpty(decoded);
            }

            GossipCodec.TryDecodeFrame(payload, out _);
            cases++;
        }

        foreach (var payload in valid)
        {
            for (var length = 0; length < payload.Length; length++)
            {
                Decode(payload.AsSpan(0, length));
            }

            for (var bit = 0; bit < payload.Length * 8; bit++)
            {
                var flipped = (byte[])payload.Clone();
                flipped[bit / 8] ^= (byte)(1 << (bit % 8));
                Decode(flipped);
            }
        }

        for (var i = 0; i < 25_000; i++)
        {
            var noise = new byte[random.Next(0, 1500)];
            random.NextBytes(noise);
            if (noise.Length > 0)
            {
                noise[0] = (byte)random.Next(0, 12);
            }

            Decode(noise);
        }

        Assert.True(cases > 30_000, $"{cases} cases");
        Assert.True(accepted > 0, "some bit flips (in counters, ports) still decode");
    }

    [Fact]
    public void Metadata_over_the_size_cap_is_refused_with_a_clear_error()
    {
        var labels = Enumerable.Range(0, 40).ToDictionary(i => $"label-{i}", i => new string('x', 20));
        var meta = Meta with { Labels = labels };

        var error = Assert.Throws<ArgumentException>(meta.Validate);

        Assert.Contains("limit is 512 bytes", error.Message);
        Assert.Contains("bytes encoded", error.Message);
        Meta.Validate();
        Assert.Throws<ArgumentException>((Meta with { Name = new string('n', 300) }).Validate);
        Assert.Throws<ArgumentException>((Meta with { Addresses = [] }).Validate);
    }
}
