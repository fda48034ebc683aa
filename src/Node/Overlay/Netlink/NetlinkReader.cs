using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Nanobox.Node.Overlay.Netlink;

/// <summary>One message of a datagram: its nlmsghdr fields and the bytes after the header.</summary>
internal readonly ref struct NetlinkMessage(ushort type, ushort flags, uint sequence, ReadOnlySpan<byte> payload)
{
    public ushort Type { get; } = type;

    public ushort Flags { get; } = flags;

    public uint Sequence { get; } = sequence;

    public ReadOnlySpan<byte> Payload { get; } = payload;

    /// <summary>The fixed header at the start of the payload; throws when the payload is too short for it.</summary>
    public T Header<T>(string name)
        where T : unmanaged
    {
        var size = Unsafe.SizeOf<T>();
        return Payload.Length >= size
            ? MemoryMarshal.Read<T>(Payload)
            : throw NetlinkException.Malformed($"message type {Type} has {Payload.Length} bytes, too few for its {size}-byte {name}");
    }

    /// <summary>The attributes after a fixed header of type <typeparamref name="T"/>.</summary>
    public NetlinkAttributes Attributes<T>()
        where T : unmanaged =>
        new(Payload[Math.Min(NetlinkRequest.Align(Unsafe.SizeOf<T>()), Payload.Length)..]);
}

/// <summary>
/// The messages of one received datagram, in order. Every length is checked against what is left before
/// it is used, so a truncated or lying header throws <see cref="NetlinkException"/> instead of reading past the end.
/// </summary>
internal readonly ref struct NetlinkMessages(ReadOnlySpan<byte> datagram)
{
    private readonly ReadOnlySpan<byte> _datagram = datagram;

    public Enumerator GetEnumerator() => new(_datagram);

    public ref struct Enumerator(ReadOnlySpan<byte> datagram)
    {
        private PaddedItems _items = new(datagram, NetlinkRequest.HeaderLength, "message", "");

        public NetlinkMessage Current { get; private set; }

        public bool MoveNext()
        {
            if (_items.IsEmpty)
            {
                return false;
            }

            var message = _items.Take(MemoryMarshal.Read<uint>(_items.Header()), "message");
            Current = new NetlinkMessage(
                MemoryMarshal.Read<ushort>(message[4..]),
                MemoryMarshal.Read<ushort>(message[6..]),
                MemoryMarshal.Read<uint>(message[8..]),
                message[NetlinkRequest.HeaderLength..]);
            return true;
        }
    }
}

/// <summary>A run of rtattrs (a message's, or a nested attribute's value), checked like <see cref="NetlinkMessages"/>.</summary>
internal readonly ref struct NetlinkAttributes(ReadOnlySpan<byte> bytes)
{
    private readonly ReadOnlySpan<byte> _bytes = bytes;

    public Enumerator GetEnumerator() => new(_bytes);

    public ref struct Enumerator(ReadOnlySpan<byte> bytes)
    {
        // NLA_F_NESTED and NLA_F_NET_BYTEORDER ride in the type's top bits.
        private const ushort TypeMask = 0x3fff;

        private PaddedItems _items = new(bytes, 4, "attribute", " of an attribute list");

        public NetlinkAttribute Current { get; private set; }

        public bool MoveNext()
        {
            if (_items.IsEmpty)
            {
                return false;
            }

            var header = _items.Header();
            var type = (ushort)(MemoryMarshal.Read<ushort>(header[2..]) & TypeMask);
            Current = new NetlinkAttribute(type, _items.Take(MemoryMarshal.Read<ushort>(header), $"attribute type {type}")[4..]);
            return true;
        }
    }
}

/// <summary>
/// Items that begin with their own length (messages, attributes), each padded to 4 bytes; the last may
/// end without its padding. Each header and claimed length is checked against what is left before use.
/// </summary>
internal ref struct PaddedItems(ReadOnlySpan<byte> bytes, int headerLength, string kind, string where)
{
    private ReadOnlySpan<byte> _rest = bytes;
    private int _offset;

    public readonly bool IsEmpty => _rest.IsEmpty;

    /// <summary>The next item's header, whole.</summary>
    public readonly ReadOnlySpan<byte> Header() =>
        _rest.Length >= headerLength
            ? _rest[..headerLength]
            : throw NetlinkException.Malformed($"truncated {kind} header at byte {_offset}{where}: {_rest.Length} bytes left, a header needs {headerLength}");

    /// <summary>Cuts the next item, header included, off the front.</summary>
    public ReadOnlySpan<byte> Take(uint length, string what)
    {
        if (length < headerLength || length > _rest.Length)
        {
            throw NetlinkException.Malformed($"{what} at byte {_offset}{where} claims {length} bytes, but {_rest.Length} are left and a header needs {headerLength}");
        }

        var item = _rest[..(int)length];
        var next = Math.Min(NetlinkRequest.Align((int)length), _rest.Length);
        _rest = _rest[next..];
        _offset += next;
        return item;
    }
}

/// <summary>One rtattr: its type (flags stripped) and value, with typed readers that check the value's size.</summary>
internal readonly ref struct NetlinkAttribute(ushort type, ReadOnlySpan<byte> value)
{
    public ushort Type { get; } = type;

    public ReadOnlySpan<byte> Value { get; } = value;

    public byte U8() => Sized(1)[0];

    public bool Flag() => U8() != 0;

    public uint U32() => MemoryMarshal.Read<uint>(Sized(4));

    public ushort BigEndianU16() => BinaryPrimitives.ReadUInt16BigEndian(Sized(2));

    /// <summary>A string attribute, up to its first NUL (the kernel terminates them; a missing NUL is tolerated).</summary>
    public string String()
    {
        var end = Value.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? Value : Value[..end]);
    }

    public IPAddress Address() =>
        Value.Length is 4 or 16
            ? new IPAddress(Value)
            : throw NetlinkException.Malformed($"attribute type {Type} holds {Value.Length} bytes, an IP address has 4 or 16");

    public PhysicalAddress Mac() => new(Value.ToArray());

    public NetlinkAttributes Nested() => new(Value);

    private ReadOnlySpan<byte> Sized(int size) =>
        Value.Length >= size
            ? Value[..size]
            : throw NetlinkException.Malformed($"attribute type {Type} holds {Value.Length} bytes, expected {size}");
}
