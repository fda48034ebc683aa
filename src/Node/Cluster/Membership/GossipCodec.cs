using System.Buffers.Binary;
using System.Net;

namespace Nanobox.Node.Cluster.Membership;

/// <summary>Why a datagram or stream frame failed to decode. Counted per reason like the protector's verdicts.</summary>
public enum GossipDecodeError
{
    None,
    Truncated,
    UnknownType,

    /// <summary>A field out of range: bad node id, address family, port, state, duplicate label.</summary>
    InvalidField,

    /// <summary>Bytes left over after the last message.</summary>
    TrailingBytes,

    /// <summary>A compound inside a compound, or a stream-only message in a datagram.</summary>
    Misplaced,

    /// <summary>A stream frame larger than allowed.</summary>
    TooLarge,
}

/// <summary>
/// Compact binary encoding of gossip messages: a one-byte type tag, big-endian integers, length-prefixed
/// UTF-8 strings. A datagram is one message or a compound (count, then length-prefixed messages); a stream
/// frame is a 4-byte length and one message. Decoding never throws on hostile input.
/// </summary>
internal static class GossipCodec
{
    /// <summary>Bytes a compound adds per part (its 2-byte length).</summary>
    public const int CompoundPartOverhead = 2;

    /// <summary>Bytes a compound adds once (type tag and part count).</summary>
    public const int CompoundHeader = 2;

    public const int FrameHeader = 4;

    /// <summary>Encodes <paramref name="message"/> into a new array (callers check the size against their datagram budget).</summary>
    public static byte[] Encode(GossipMessage message)
    {
        var measure = new WireWriter(default);
        Write(ref measure, message);
        if (measure.Invalid)
        {
            throw new ArgumentException($"{message.Type} message has a field the wire format cannot hold", nameof(message));
        }

        var bytes = new byte[measure.Position];
        var writer = new WireWriter(bytes);
        Write(ref writer, message);
        return bytes;
    }

    /// <summary>Packs already-encoded messages into one datagram payload; a single part goes bare.</summary>
    public static byte[] Compound(IReadOnlyList<byte[]> parts)
    {
        if (parts.Count == 1)
        {
            return parts[0];
        }

        var size = CompoundHeader + parts.Sum(p => CompoundPartOverhead + p.Length);
        var bytes = new byte[size];
        var writer = new WireWriter(bytes);
        writer.U8((byte)MessageType.Compound);
        writer.Count(parts.Count);
        foreach (var part in parts)
        {
            writer.U16((ushort)part.Length);
            writer.Bytes(part);
        }

        return bytes;
    }

    public static bool TryMeasure(NodeMeta meta, out int size)
    {
        var writer = new WireWriter(default);
        WriteMeta(ref writer, meta);
        size = writer.Position;
        return !writer.Invalid;
    }

    /// <summary>Decodes a datagram payload into <paramref name="messages"/>; on failure adds nothing.</summary>
    public static GossipDecodeError TryDecodeDatagram(ReadOnlySpan<byte> payload, List<GossipMessage> messages)
    {
        var start = messages.Count;
        var reader = new WireReader(payload);
        if (payload.Length > 0 && payload[0] == (byte)MessageType.Compound)
        {
            reader.U8();
            var count = reader.U8();
            for (var i = 0; i < count && !reader.Failed; i++)
            {
                var part = reader.Bytes(reader.U16());
                if (!reader.Failed)
                {
                    reader.Fail(DecodeSingle(part, messages));
                }
            }

            if (reader.Remaining > 0)
            {
                reader.Fail(GossipDecodeError.TrailingBytes);
            }
        }
        else
        {
            reader.Fail(DecodeSingle(payload, messages));
        }

        if (reader.Failed)
        {
            messages.RemoveRange(start, messages.Count - start);
        }

        return reader.Error;
    }

    /// <summary>Decodes one stream frame body (after its length prefix).</summary>
    public static GossipDecodeError TryDecodeFrame(ReadOnlySpan<byte> body, out GossipMessage? message)
    {
        var reader = new WireReader(body);
        message = Read(ref reader, allowStreamOnly: true);
        if (reader.Remaining > 0)
        {
            reader.Fail(GossipDecodeError.TrailingBytes);
        }

        if (reader.Failed)
        {
            message = null;
        }

        return reader.Error;
    }

    /// <summary>Writes <paramref name="message"/> as one length-prefixed frame; returns the bytes written.</summary>
    public static async Task<int> WriteFrameAsync(Stream stream, GossipMessage message, CancellationToken cancellationToken)
    {
        var body = Encode(message);
        var frame = new byte[FrameHeader + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)body.Length);
        body.CopyTo(frame, FrameHeader);
        await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        return frame.Length;
    }

    /// <summary>Reads one frame; a closed stream, an oversized or malformed frame yields an error, never an exception from the codec.</summary>
    public static async Task<(GossipMessage? Message, GossipDecodeError Error, int Size)> ReadFrameAsync(Stream stream, int maxFrameSize, CancellationToken cancellationToken)
    {
        var header = new byte[FrameHeader];
        if (!await ReadExactlyOrEndAsync(stream, header, cancellationToken).ConfigureAwait(false))
        {
            return (null, GossipDecodeError.Truncated, 0);
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length > maxFrameSize)
        {
            return (null, GossipDecodeError.TooLarge, FrameHeader);
        }

        var body = new byte[length];
        if (!await ReadExactlyOrEndAsync(stream, body, cancellationToken).ConfigureAwait(false))
        {
            return (null, GossipDecodeError.Truncated, FrameHeader);
        }

        var error = TryDecodeFrame(body, out var message);
        return (message, error, FrameHeader + body.Length);
    }

    private static async Task<bool> ReadExactlyOrEndAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken) =>
        await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) == buffer.Length;

    private static GossipDecodeError DecodeSingle(ReadOnlySpan<byte> bytes, List<GossipMessage> messages)
    {
        var reader = new WireReader(bytes);
        var message = Read(ref reader, allowStreamOnly: false);
        if (reader.Remaining > 0)
        {
            reader.Fail(GossipDecodeError.TrailingBytes);
        }

        if (!reader.Failed && message is not null)
        {
            messages.Add(message);
        }

        return reader.Error;
    }

    private static void Write(ref WireWriter w, GossipMessage message)
    {
        w.U8((byte)message.Type);
        switch (message)
        {
            case PingMessage m:
                w.U32(m.Seq);
                w.String(m.TargetId);
                w.String(m.SourceId);
                break;
            case IndirectPingMessage m:
                w.U32(m.Seq);
                w.String(m.TargetId);
                w.Endpoint(m.Target);
                w.String(m.SourceId);
                break;
            case ProbeReply m:
                w.U32(m.Seq);
                break;
            case Accusation m:
                WriteClaim(ref w, m.Id, m.Incarnation);
                w.String(m.FromId);
                break;
            case AliveMessage m:
                WriteClaim(ref w, m.Id, m.Incarnation);
                WriteMeta(ref w, m.Meta);
                break;
            case LeaveMessage m:
                WriteClaim(ref w, m.Id, m.Incarnation);
                break;
            case PushPullMessage m:
                w.U16((ushort)m.Members.Count);
                foreach (var e in m.Members)
                {
                    WriteClaim(ref w, e.Id, e.Incarnation);
                    w.U8((byte)e.State);
                    WriteMeta(ref w, e.Meta);
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(message), message.Type, "not an encodable message");
        }
    }

    private static GossipMessage? Read(ref WireReader r, bool allowStreamOnly)
    {
        var type = (MessageType)r.U8();
        GossipMessage? message = type switch
        {
            MessageType.Ping => new PingMessage(r.U32(), r.NodeId(), r.NodeId()),
            MessageType.IndirectPing => new IndirectPingMessage(r.U32(), r.NodeId(), r.Endpoint(), r.NodeId()),
            MessageType.Ack => new AckMessage(r.U32()),
            MessageType.Nack => new NackMessage(r.U32()),
            MessageType.Suspect => new SuspectMessage(r.NodeId(), r.U32(), r.NodeId()),
            MessageType.Alive => new AliveMessage(r.NodeId(), r.U32(), ReadMeta(ref r)),
            MessageType.Dead => new DeadMessage(r.NodeId(), r.U32(), r.NodeId()),
            MessageType.Leave => new LeaveMessage(r.NodeId(), r.U32()),
            MessageType.PushPull when allowStreamOnly => ReadPushPull(ref r),
            _ => null,
        };
        if (message is null)
        {
            r.Fail(type is MessageType.PushPull or MessageType.Compound ? GossipDecodeError.Misplaced : GossipDecodeError.UnknownType);
        }

        return message;
    }

    private static PushPullMessage ReadPushPull(ref WireReader r)
    {
        var count = r.U16();
        var members = new List<PushPullEntry>(Math.Min((int)count, r.Remaining));
        for (var i = 0; i < count && !r.Failed; i++)
        {
            var id = r.NodeId();
            var incarnation = r.U32();
            var state = r.U8() is var s && s <= (byte)MemberState.Left ? (MemberState)s : Invalid(ref r, MemberState.Dead);
            members.Add(new PushPullEntry(id, incarnation, state, ReadMeta(ref r)));
        }

        return new PushPullMessage(members);
    }

    private static void WriteClaim(ref WireWriter w, string id, uint incarnation)
    {
        w.String(id);
        w.U32(incarnation);
    }

    private static void WriteMeta(ref WireWriter w, NodeMeta meta)
    {
        w.String(meta.Name);
        w.Count(meta.Addresses.Count);
        foreach (var address in meta.Addresses)
        {
            w.Address(address);
        }

        w.U16((ushort)meta.GossipPort);
        w.U16((ushort)meta.ControlPort);
        w.String(meta.Role);
        w.String(meta.Version);
        w.Count(meta.Labels.Count);
        foreach (var (key, value) in meta.Labels.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            w.String(key);
            w.String(value);
        }

        w.U8(meta.OverlayEndpoint is null ? (byte)0 : (byte)1);
        if (meta.OverlayEndpoint is not null)
        {
            w.Endpoint(meta.OverlayEndpoint);
        }

        w.U32(meta.OverlayVni);
        w.Count(meta.OverlayEndpoints?.Length ?? 0);
        w.Bytes(meta.OverlayEndpoints ?? []);
    }

    private static NodeMeta ReadMeta(ref WireReader r)
    {
        var name = r.String();
        var addresses = new IPAddress[r.U8()];
        for (var i = 0; i < addresses.Length; i++)
        {
            addresses[i] = r.Address();
        }

        var gossipPort = r.U16();
        var controlPort = r.U16();
        var role = r.String();
        var version = r.String();
        var labelCount = r.U8();
        var labels = new Dictionary<string, string>(labelCount, StringComparer.Ordinal);
        for (var i = 0; i < labelCount && !r.Failed; i++)
        {
            if (!labels.TryAdd(r.String(), r.String()))
            {
                r.Fail(GossipDecodeError.InvalidField);
            }
        }

        var overlay = r.U8() switch
        {
            0 => null,
            1 => r.Endpoint(),
            _ => Invalid<IPEndPoint?>(ref r, null),
        };
        var vni = r.U32();
        var endpoints = r.Bytes(r.U8()).ToArray();
        if (addresses.Length == 0 || gossipPort == 0)
        {
            r.Fail(GossipDecodeError.InvalidField);
        }

        return new NodeMeta(name, addresses, gossipPort, controlPort, role, version, labels, overlay, vni, endpoints.Length == 0 ? null : endpoints);
    }

    private static T Invalid<T>(ref WireReader r, T fallback)
    {
        r.Fail(GossipDecodeError.InvalidField);
        return fallback;
    }
}
