using System.Net;
using System.Net.NetworkInformation;
using System.Runtime.InteropServices;
using Nanobox.Node.Overlay.Netlink;
using static Nanobox.Node.Tests.Overlay.NetlinkEncodingTests;

namespace Nanobox.Node.Tests.Overlay;

/// <summary>
/// Replies as the kernel sends them: ACKs, errors with and without extended ACK text, dumps spread over
/// datagrams, and bytes that lie about their lengths, which must fail with a clear exception, never read
/// past the end.
/// </summary>
public sealed class NetlinkDecodingTests
{
    private const uint Seq = 77;
    private const ushort Multi = 0x02;

    /// <summary>A kernel message: nlmsghdr (filled in) + payload, padded to 4.</summary>
    private static byte[] Message(ushort type, ushort flags, uint sequence, byte[] payload)
    {
        var bytes = new byte[NetlinkRequest.Align(16 + payload.Length)];
        MemoryMarshal.Write(bytes, (uint)(16 + payload.Length));
        MemoryMarshal.Write(bytes.AsSpan(4), type);
        MemoryMarshal.Write(bytes.AsSpan(6), flags);
        MemoryMarshal.Write(bytes.AsSpan(8), sequence);
        payload.CopyTo(bytes, 16);
        return bytes;
    }

    private static byte[] Payload(byte[] request) => request[16..];

    private static byte[] Error(int errno, ushort flags = 0x100, byte[]? tail = null) =>
        Message(2, flags, Seq, [.. BitConverter.GetBytes(-errno), .. Hex("30000000 1c00 050c 4d000000 00000000"), .. tail ?? []]);

    private static byte[] Done(int result = 0) => Message(3, Multi, Seq, BitConverter.GetBytes(result));

    private static byte[] FdbReply(string mac, string destination, int index = 5) =>
        Message(28, Multi, Seq, Payload(NetlinkFdb.Request(28, 0, new NetDevice(index, "vx"), new FdbEntry(PhysicalAddress.Parse(mac), IPAddress.Parse(destination)))));

    private static List<FdbEntry> Collect(NetlinkExchange exchange, List<FdbEntry> into, params byte[][] datagrams)
    {
        foreach (var datagram in datagrams)
        {
            exchange.Accept(datagram);
        }

        return into;
    }

    private static (NetlinkExchange Exchange, List<FdbEntry> Entries) FdbDump()
    {
        var entries = new List<FdbEntry>();
        var exchange = new NetlinkExchange(Seq, "listing FDB entries of vx", dump: true, (in NetlinkMessage m) =>
        {
            if (NetlinkFdb.Decode(m, 5) is { } entry)
            {
                entries.Add(entry);
            }
        });
        return (exchange, entries);
    }

    [Fact]
    public void A_zero_errno_ACK_completes_a_request()
    {
        var exchange = new NetlinkExchange(Seq, "setting vx up", dump: false);

        exchange.Accept(Error(0));

        Assert.True(exchange.Complete);
    }

    [Fact]
    public void An_errno_throws_naming_the_operation_errno_and_the_kernels_own_text()
    {
        var message = "FDB entry already exists"u8.ToArray();
        byte[] attribute = [.. BitConverter.GetBytes((ushort)(4 + message.Length + 1)), 1, 0, .. message, 0];
        var exchange = new NetlinkExchange(Seq, "appending FDB entry 02:6e:00:00:00:02 dst 198.18.0.2 on nanobox-vx", dump: false);

        var error = Assert.Throws<NetlinkException>(() => exchange.Accept(Error(17, flags: 0x100 | 0x200, tail: attribute)));

        Assert.Equal(17, error.Errno);
        Assert.True(error.AlreadyExists);
        Assert.Equal("netlink: appending FDB entry 02:6e:00:00:00:02 dst 198.18.0.2 on nanobox-vx failed: File exists (EEXIST): FDB entry already exists", error.Message);
    }

    [Fact]
    public void An_uncapped_error_skips_the_whole_echoed_request_before_the_extended_ACK()
    {
        var request = NetlinkNeighbours.DeleteRequest(new NetDevice(5, "vx"), IPAddress.Parse("10.99.0.2"));
        byte[] attribute = [.. Hex("0900 0100"), .. "gone"u8, 0, 0, 0, 0];
        var payload = (byte[])[.. BitConverter.GetBytes(-2), .. request, .. attribute];
        var exchange = new NetlinkExchange(Seq, "removing neighbour 10.99.0.2 from vx", dump: false);

        var error = Assert.Throws<NetlinkException>(() => exchange.Accept(Message(2, 0x200, Seq, payload)));

        Assert.Equal("netlink: removing neighbour 10.99.0.2 from vx failed: No such file or directory (ENOENT): gone", error.Message);
        Assert.True(error.NotFound);
    }

    [Fact]
    public void A_dump_spread_over_datagrams_ends_only_at_NLMSG_DONE()
    {
        var (exchange, entries) = FdbDump();

        exchange.Accept([.. FdbReply("00:00:00:00:00:00", "198.18.0.2"), .. FdbReply("00:00:00:00:00:00", "198.18.0.3")]);
        Assert.False(exchange.Complete);
        exchange.Accept([.. FdbReply("02:6e:00:00:00:02", "198.18.0.2"), .. FdbReply("02:6e:00:00:00:09", "198.18.0.9", index: 6), .. Done()]);

        Assert.True(exchange.Complete);
        Assert.False(exchange.Interrupted);
        Assert.Equal(
            [
                new FdbEntry(FdbEntry.AllZeroMac, IPAddress.Parse("198.18.0.2")),
                new FdbEntry(FdbEntry.AllZeroMac, IPAddress.Parse("198.18.0.3")),
                new FdbEntry(PhysicalAddress.Parse("02:6e:00:00:00:02"), IPAddress.Parse("198.18.0.2")),
            ],
            entries);
    }

    [Fact]
    public void Late_replies_to_an_earlier_request_are_skipped()
    {
        var (exchange, entries) = FdbDump();
        var stale = FdbReply("02:6e:00:00:00:07", "198.18.0.7");
        MemoryMarshal.Write(stale.AsSpan(8), Seq - 1);

        exchange.Accept([.. stale, .. Message(2, 0x100, Seq - 1, [.. BitConverter.GetBytes(-17), .. new byte[16]]), .. Done()]);

        Assert.True(exchange.Complete);
        Assert.Empty(entries);
    }

    [Fact]
    public void A_dump_that_fails_reports_the_errno_carried_by_NLMSG_DONE()
    {
        var (exchange, _) = FdbDump();

        var error = Assert.Throws<NetlinkException>(() => exchange.Accept(Done(-22)));

        Assert.Equal(22, error.Errno);
        Assert.Contains("listing FDB entries of vx failed: Invalid argument (EINVAL)", error.Message);
    }

    [Fact]
    public void An_interrupted_dump_is_flagged_so_it_can_be_read_again()
    {
        var (exchange, _) = FdbDump();
        var reply = FdbReply("02:6e:00:00:00:02", "198.18.0.2");
        MemoryMarshal.Write(reply.AsSpan(6), (ushort)(Multi | 0x10));

        exchange.Accept([.. reply, .. Done()]);

        Assert.True(exchange.Interrupted);
    }

    [Fact]
    public void A_vxlan_link_decodes_with_its_settings()
    {
        var spec = new VxlanSpec("nanobox-vx", 42, IPAddress.Parse("2001:db8::1"), new NetDevice(3, "eth0")) { Port = 8472, Mtu = 1430, Mac = PhysicalAddress.Parse("02:6e:00:00:00:01"), UdpChecksum = false };
        var payload = Payload(NetlinkLinks.CreateVxlanRequest(spec));
        MemoryMarshal.Write(payload.AsSpan(4), 9); // ifi_index
        MemoryMarshal.Write(payload.AsSpan(8), 1u); // IFF_UP
        byte[] extra = [.. Hex("0800 0a00 04000000"), .. Hex("0500 1000 06 000000")]; // IFLA_MASTER 4, IFLA_OPERSTATE up

        var link = NetlinkLinks.Decode(Reply(Message(16, 0, Seq, [.. payload, .. extra])));

        Assert.Equal(new LinkInfo(9, "nanobox-vx", "vxlan", 1430, PhysicalAddress.Parse("02:6e:00:00:00:01"), 4, true, LinkOperState.Up,
            new VxlanInfo(42, 8472, IPAddress.Parse("2001:db8::1"), 3, Learning: false, Proxy: true, UdpChecksum: false)), link);
    }

    [Fact]
    public void Neighbours_and_addresses_decode_and_other_devices_are_filtered_out()
    {
        var neighbour = Payload(NetlinkNeighbours.ReplaceRequest(new NetDevice(5, "vx"), IPAddress.Parse("10.99.0.2"), PhysicalAddress.Parse("02:6e:00:00:00:02")));
        var address = Payload(NetlinkAddresses.Request(20, 0, new NetDevice(5, "vx"), InterfaceAddress.Parse("fd00::1/64")));

        Assert.Equal(new Neighbour(IPAddress.Parse("10.99.0.2"), PhysicalAddress.Parse("02:6e:00:00:00:02"), NeighbourState.Permanent), NetlinkNeighbours.Decode(Reply(Message(28, Multi, Seq, neighbour)), 5));
        Assert.Null(NetlinkNeighbours.Decode(Reply(Message(28, Multi, Seq, neighbour)), 6));
        Assert.Equal(InterfaceAddress.Parse("fd00::1/64"), NetlinkAddresses.Decode(Reply(Message(20, Multi, Seq, address)), 5));
        Assert.Null(NetlinkAddresses.Decode(Reply(Message(20, Multi, Seq, address)), 6));
    }

    /// <summary>The one message of a datagram (a test convenience; the socket layer decodes inside the exchange).</summary>
    private static NetlinkMessage Reply(byte[] datagram)
    {
        foreach (var message in new NetlinkMessages(datagram))
        {
            return message;
        }

        throw new InvalidOperationException("no message");
    }

    public static TheoryData<string, string> MalformedDatagrams => new()
    {
        { "0a000000 1c00 0200 4d00", "truncated message header at byte 0" },
        { "64000000 1c00 0200 4d000000 00000000 00000000", "claims 100 bytes, but 20 are left" },
        { "08000000 1c00 0200 4d000000 00000000", "claims 8 bytes" },
        { "18000000 0200 0000 4d000000 00000000 efffffff 00000000", "NLMSG_ERROR of 8 bytes" },
        { "18000000 1c00 0200 4d000000 00000000 07000000 05000000", "message type 28 has 8 bytes, too few for its 12-byte ndmsg" },
        { "24000000 1c00 0200 4d000000 00000000 07000000 05000000 80000200 0400 0200 2000 0100", "attribute type 1 at byte 4 of an attribute list claims 32 bytes, but 4 are left" },
        { "1f000000 1c00 0200 4d000000 00000000 07000000 05000000 80000200 0200 01", "truncated attribute header at byte 0 of an attribute list: 3 bytes left" },
        { "30000000 1c00 0200 4d000000 00000000 07000000 05000000 80000200 0a00 0200 000000000000 0000 0500 0100 c6000000", "attribute type 1 holds 1 bytes, an IP address has 4 or 16" },
        { "24000000 0200 0002 4d000000 00000000 efffffff 40000000 1c00 0000 00000000 00000000", "extended ACK attributes would start at byte 68 of a 20-byte error message" },
        { "14000000 0200 0000 4d000000 00000000 ffffffff", "NLMSG_ERROR of 4 bytes" },
    };

    [Theory]
    [MemberData(nameof(MalformedDatagrams))]
    public void Malformed_replies_throw_saying_where_they_broke(string hex, string expected)
    {
        var (exchange, _) = FdbDump();

        var error = Assert.Throws<NetlinkException>(() => exchange.Accept(Hex(hex)));

        Assert.StartsWith("netlink: malformed reply from the kernel: ", error.Message);
        Assert.True(error.Message.Contains(expected, StringComparison.Ordinal), error.Message);
        Assert.Equal(0, error.Errno);
    }

    [Fact]
    public void Typed_attribute_readers_check_the_value_size()
    {
        // IFLA_MTU with 2 bytes instead of 4.
        var link = Message(16, 0, Seq, [.. new byte[16], .. Hex("0800 0300 76780000"), .. Hex("0600 0400 dc05 0000")]);

        var error = Assert.Throws<NetlinkException>(() => NetlinkLinks.Decode(Reply(link)));

        Assert.Contains("attribute type 4 holds 2 bytes, expected 4", error.Message);
    }

    [Fact]
    public void Every_truncation_and_corruption_of_a_real_dump_either_decodes_or_throws_NetlinkException()
    {
        var vxlan = Payload(NetlinkLinks.CreateVxlanRequest(new VxlanSpec("vx0", 42, IPAddress.Parse("198.18.0.1"), new NetDevice(3, "eth0"))));
        byte[] datagram = [.. Message(16, Multi, Seq, vxlan), .. FdbReply("02:6e:00:00:00:02", "198.18.0.2"), .. Error(17, 0x300, Hex("0800 0100 6f6b0000"))];
        var random = new Random(20261122);

        for (var length = 0; length <= datagram.Length; length++)
        {
            DecodeAll(datagram[..length]);
        }

        for (var round = 0; round < 5000; round++)
        {
            var corrupt = (byte[])datagram.Clone();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                corrupt[random.Next(corrupt.Length)] = (byte)random.Next(256);
            }

            DecodeAll(corrupt);
        }
    }

    /// <summary>Feeds the bytes through every decoder; only <see cref="NetlinkException"/> may come out.</summary>
    private static void DecodeAll(byte[] datagram)
    {
        try
        {
            new NetlinkExchange(Seq, "decoding", dump: true, (in NetlinkMessage m) =>
            {
                NetlinkLinks.Decode(m);
                NetlinkFdb.Decode(m, 5);
                NetlinkNeighbours.Decode(m, 5);
                NetlinkAddresses.Decode(m, 5);
            }).Accept(datagram);
        }
        catch (NetlinkException)
        {
        }
    }
}
