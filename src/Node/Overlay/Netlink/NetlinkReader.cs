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
        private ReadOnlySpan<byte> _rest = datagram;
        private int _offset;

        public NetlinkMessage Current { get; private set; }

        public bool MoveNext()
        {
            if (_rest.IsEmpty)
            {
                return false;
            }

            if (_rest.Length < NetlinkRequest.HeaderLength)
            {
                throw NetlinkException.Malformed($"truncated message header at byte {_offset}: {_rest.Length} bytes left, a header needs {NetlinkRequest.HeaderLength}");
            }

            var length = MemoryMarshal.Read<uint>(_rest);
            if (length < NetlinkRequest.HeaderLength || length > _rest.Length)
            {
                throw NetlinkException.Malformed($"message at byte {_offset} claims {length} bytes, but {_rest.Length} are left and a header needs {NetlinkRequest.HeaderLength}");
            }

            Current = new NetlinkMessage(
                MemoryMarshal.Read<ushort>(_rest[4..]),
                MemoryMarshal.Read<ushort>(_rest[6..]),
                MemoryMarshal.Read<uint>(_rest[8..]),
                _rest[NetlinkRequest.HeaderLength..(int)length]);

            // The last message of a datagram may end without its padding.
            var next = Math.Min(NetlinkRequest.Align((int)length), _rest.Length);
            _rest = _rest[next..];
            _offset += next;
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
        private const int HeaderLength = 4;

        // NLA_F_NESTED and NLA_F_NET_BYTEORDER ride in the type's top bits.
        private const ushort TypeMask = 0x3fff;

        private ReadOnlySpan<byte> _rest = bytes;
        private int _offset;

        public NetlinkAttribute Current { get; private set; }

        public bool MoveNext()
        {
            if (_rest.IsEmpty)
            {
                return false;
            }

            if (_rest.Length < HeaderLength)
            {
                throw NetlinkException.Malformed($"truncated attribute header at byte {_offset} of an attribute list: {_rest.Length} bytes left, a header needs {HeaderLength}");
            }

            var length = MemoryMarshal.Read<ushort>(_rest);
            var type = (ushort)(MemoryMarshal.Read<ushort>(_rest[2..]) & TypeMask);
            if (length < HeaderLength || length > _rest.Length)
            {
                throw NetlinkException.Malformed($"attribute type {type} at byte {_offset} of an attribute list claims {length} bytes, but {_rest.Length} are left and a header needs {HeaderLength}");
            }

            Current = new NetlinkAttribute(type, _rest[HeaderLength..length]);
            var next = Math.Min(NetlinkRequest.Align(length), _rest.Length);
            _rest = _rest[next..];
            _offset += next;
            return true;
        }
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
