using System.Text;
using Nanobox.Node.Security;

namespace Nanobox.Node.Tests.Security;

public sealed class GossipDatagramProtectorTests
{
    private static readonly byte[] Message = Encoding.UTF8.GetBytes("alive node1 incarnation 7");

    private readonly ManualTime _time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly GossipKeyRing _ring = new([GossipKey.Generate()]);

    [Fact]
    public void A_sealed_datagram_opens_once_and_is_not_readable_in_transit()
    {
        var (sender, receiver) = Pair();

        var datagram = Seal(sender, Message);

        Assert.Equal(Message.Length + sender.Overhead, datagram.Length);
        Assert.DoesNotContain("node1", Encoding.UTF8.GetString(datagram));
        var (verdict, plaintext) = Open(receiver, datagram);
        Assert.Equal(DatagramVerdict.Accepted, verdict);
        Assert.Equal(Message, plaintext);
        Assert.Equal(DatagramVerdict.Replayed, Open(receiver, datagram).Verdict);
    }

    [Fact]
    public void An_empty_payload_round_trips()
    {
        var (sender, receiver) = Pair();

        var (verdict, plaintext) = Open(receiver, Seal(sender, []));

        Assert.Equal(DatagramVerdict.Accepted, verdict);
        Assert.Empty(plaintext);
    }

    [Fact]
    public void A_datagram_from_another_cluster_key_is_forged()
    {
        var outsider = new GossipDatagramProtector(new GossipKeyRing([GossipKey.Generate()]), _time);
        var (_, receiver) = Pair();

        Assert.Equal(DatagramVerdict.Forged, Open(receiver, Seal(outsider, Message)).Verdict);
    }

    [Fact]
    public void Rotation_without_downtime_install_then_use_then_remove()
    {
        var senderRing = new GossipKeyRing(_ring.Keys);
        var sender = new GossipDatagramProtector(senderRing, _time);
        var receiver = new GossipDatagramProtector(_ring, _time);
        var next = GossipKey.Generate();

        _ring.Install(next);
        senderRing.Install(next);
        Assert.Equal(DatagramVerdict.Accepted, Open(receiver, Seal(sender, Message)).Verdict);

        senderRing.Use(next); // the receiver has not switched its primary yet, but can open the new key
        Assert.Equal(DatagramVerdict.Accepted, Open(receiver, Seal(sender, Message)).Verdict);

        var old = _ring.Keys.Single(k => k.Id != next.Id);
        var sealedWithOld = Seal(new GossipDatagramProtector(new GossipKeyRing([old]), _time), Message);
        _ring.Use(next);
        _ring.Remove(old);
        Assert.Equal(DatagramVerdict.Forged, Open(receiver, sealedWithOld).Verdict);
        Assert.Equal(DatagramVerdict.Accepted, Open(receiver, Seal(sender, Message)).Verdict);
    }

    [Fact]
    public void Datagrams_older_or_newer_than_the_window_are_stale()
    {
        var (sender, receiver) = Pair();
        var old = Seal(sender, Message);
        _time.Advance(TimeSpan.FromSeconds(31));
        var future = Seal(sender, Message);
        _time.Advance(TimeSpan.FromSeconds(-62));

        Assert.Equal(DatagramVerdict.Stale, Open(receiver, future).Verdict);
        _time.Advance(TimeSpan.FromSeconds(62));
        Assert.Equal(DatagramVerdict.Stale, Open(receiver, old).Verdict);
    }

    [Fact]
    public void A_replay_is_caught_until_the_datagram_has_become_stale()
    {
        var (sender, receiver) = Pair();
        var datagram = Seal(sender, Message);
        Assert.Equal(DatagramVerdict.Accepted, Open(receiver, datagram).Verdict);

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(DatagramVerdict.Replayed, Open(receiver, datagram).Verdict);

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(DatagramVerdict.Stale, Open(receiver, datagram).Verdict);
    }

    [Fact]
    public void Tampering_with_any_bit_of_the_header_ciphertext_or_tag_is_caught()
    {
        var (sender, receiver) = Pair();
        var datagram = Seal(sender, Message);

        for (var i = 8; i < datagram.Length * 8; i++)
        {
            Assert.Equal(DatagramVerdict.Forged, Open(receiver, Tamper.Flip(datagram, i / 8, i % 8)).Verdict);
        }

        for (var bit = 0; bit < 8; bit++)
        {
            Assert.Equal(DatagramVerdict.UnknownVersion, Open(receiver, Tamper.Flip(datagram, 0, bit)).Verdict);
        }
    }

    [Fact]
    public void Every_truncation_is_truncated_or_forged()
    {
        var (sender, receiver) = Pair();
        var datagram = Seal(sender, Message);

        for (var length = 0; length < datagram.Length; length++)
        {
            var expected = length < sender.Overhead ? DatagramVerdict.Truncated : DatagramVerdict.Forged;
            Assert.Equal(expected, Open(receiver, datagram[..length]).Verdict);
        }
    }

    [Fact]
    public void Verdicts_are_counted()
    {
        var (sender, receiver) = Pair();
        var datagram = Seal(sender, Message);

        Open(receiver, datagram);
        Open(receiver, datagram);
        Open(receiver, datagram[..3]);
        Open(receiver, [9]);

        var counts = receiver.Counters.Snapshot();
        Assert.Equal(1, counts[DatagramVerdict.Accepted]);
        Assert.Equal(1, counts[DatagramVerdict.Replayed]);
        Assert.Equal(1, counts[DatagramVerdict.Truncated]);
        Assert.Equal(1, counts[DatagramVerdict.UnknownVersion]);
        Assert.Equal(0, counts[DatagramVerdict.Forged]);
    }

    /// <summary>
    /// Fuzz with a fixed seed: random bytes (with and without the right version byte), bit flips and
    /// truncations of valid datagrams. Nothing may throw, nothing altered may be accepted.
    /// </summary>
    [Fact]
    public void Fuzzed_datagrams_never_throw_and_are_never_accepted()
    {
        var (sender, receiver) = Pair();
        var random = new Random(1234567);
        var plaintext = new byte[2048];
        for (var i = 0; i < 20_000; i++)
        {
            var valid = Seal(sender, Tamper.RandomBytes(random, random.Next(0, 300)));
            var input = (i % 4) switch
            {
                0 => Tamper.RandomBytes(random, random.Next(0, 400)),
                1 => [GossipDatagramProtector.FormatVersion, .. Tamper.RandomBytes(random, random.Next(0, 400))],
                2 => FlipSome(random, valid),
                _ => valid[..random.Next(valid.Length)],
            };

            var verdict = receiver.Open(input, plaintext, out var written);

            Assert.NotEqual(DatagramVerdict.Accepted, verdict);
            Assert.Equal(0, written);
        }

        Assert.Equal(20_000, receiver.Counters.Snapshot().Values.Sum());
    }

    [Fact]
    public void Sealing_and_opening_from_many_threads_accepts_each_datagram_exactly_once()
    {
        var (sender, receiver) = Pair();
        var datagrams = Enumerable.Range(0, 2000).Select(i => Seal(sender, BitConverter.GetBytes(i))).ToList();

        var verdicts = datagrams.Concat(datagrams).AsParallel().WithDegreeOfParallelism(4).Select(d => receiver.Open(d, new byte[64], out _)).ToList();

        Assert.Equal(2000, verdicts.Count(v => v == DatagramVerdict.Accepted));
        Assert.Equal(2000, verdicts.Count(v => v == DatagramVerdict.Replayed));
    }

    private (GossipDatagramProtector Sender, GossipDatagramProtector Receiver) Pair() =>
        (new GossipDatagramProtector(_ring, _time), new GossipDatagramProtector(_ring, _time));

    private static byte[] Seal(GossipDatagramProtector protector, byte[] plaintext)
    {
        var datagram = new byte[plaintext.Length + protector.Overhead];
        Assert.Equal(datagram.Length, protector.Seal(plaintext, datagram));
        return datagram;
    }

    private static (DatagramVerdict Verdict, byte[] Plaintext) Open(GossipDatagramProtector protector, byte[] datagram)
    {
        var plaintext = new byte[datagram.Length];
        var verdict = protector.Open(datagram, plaintext, out var written);
        return (verdict, plaintext[..written]);
    }

    private static byte[] FlipSome(Random random, byte[] valid)
    {
        var copy = valid;
        for (var flips = random.Next(1, 4); flips > 0; flips--)
        {
            copy = Tamper.Flip(copy, random.Next(copy.Length), random.Next(8));
        }

        // Flips can cancel out; make sure at least one bit differs.
        return copy.AsSpan().SequenceEqual(valid) ? Tamper.Flip(copy, 1) : copy;
    }
}
