using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Nanobox.Node.Cluster.Membership;

/// <summary>
/// Appends big-endian fields to a span. Never throws: past the end it keeps counting (so the same code
/// measures), and a field the format cannot hold (a string over 255 bytes) marks the output invalid.
/// </summary>
internal ref struct WireWriter(Span<byte> buffer)
{
    private readonly Span<byte> _buffer = buffer;

    public int Position { get; private set; }

    public bool Invalid { get; private set; }

    public readonly bool Fits => !Invalid && Position <= _buffer.Length;

    public void U8(byte value) => Take(1)[0] = value;

    public void U16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Take(2), value);

    public void U32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Take(4), value);

    public void Count(int count)
    {
        Invalid |= count > byte.MaxValue;
        U8((byte)count);
    }

    public void String(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        Count(length);
        var span = Take(length);
        if (span.Length == length)
        {
            Encoding.UTF8.GetBytes(value, span);
        }
    }

    public void Bytes(ReadOnlySpan<byte> value) => value.CopyTo(Take(value.Length));

    public void Address(IPAddress address)
    {
        var v6 = address.AddressFamily == AddressFamily.InterNetworkV6;
        U8(v6 ? (byte)6 : (byte)4);
        var span = Take(v6 ? 16 : 4);
        if (span.Length > 0)
        {
            address.TryWriteBytes(span, out _);
        }
    }

    public void Endpoint(IPEndPoint endpoint)
    {
        Address(endpoint.Address);
        U16((ushort)endpoint.Port);
    }

    /// <summary>The next <paramref name="length"/> bytes, or an empty span (the write is only counted) when they do not fit.</summary>
    private Span<byte> Take(int length)
    {
        var start = Position;
        Position += length;
        return Position <= _buffer.Length ? _buffer.Slice(start, length) : (length == 0 ? default : new byte[length]);
    }
}

/// <summary>
/// Reads big-endian fields from untrusted bytes. Never throws: a read past the end or a malformed field
/// sets <see cref="Error"/> and returns a default value; callers check <see cref="Failed"/> before using the result.
/// </summary>
internal ref struct WireReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;

    public int Position { get; private set; }

    public GossipDecodeError Error { get; private set; }

    public readonly bool Failed => Error != GossipDecodeError.None;

    public readonly int Remaining => _data.Length - Position;

    public void Fail(GossipDecodeError error)
    {
        if (!Failed)
        {
            Error = error;
        }
    }

    public byte U8() => Take(1) is { Length: 1 } s ? s[0] : default;

    public ushort U16() => Take(2) is { Length: 2 } s ? BinaryPrimitives.ReadUInt16BigEndian(s) : default;

    public uint U32() => Take(4) is { Length: 4 } s ? BinaryPrimitives.ReadUInt32BigEndian(s) : default;

    public string String() => Encoding.UTF8.GetString(Take(U8()));

    public string NodeId()
    {
        var id = String();
        if (!Failed && !Membership.NodeId.IsValid(id))
        {
            Fail(GossipDecodeError.InvalidField);
        }

        return id;
    }

    public ReadOnlySpan<byte> Bytes(int length) => Take(length);

    public IPAddress Address()
    {
        var length = U8() switch
        {
            4 => 4,
            6 => 16,
            _ => 0,
        };
        if (length == 0)
        {
            Fail(GossipDecodeError.InvalidField);
            return IPAddress.None;
        }

        var bytes = Take(length);
        return bytes.Length == length ? new IPAddress(bytes) : IPAddress.None;
    }

    public IPEndPoint Endpoint()
    {
        var address = Address();
        var port = U16();
        if (port == 0)
        {
            Fail(GossipDecodeError.InvalidField);
        }

        return new IPEndPoint(address, port);
    }

    private ReadOnlySpan<byte> Take(int length)
    {
        if (Failed || length > Remaining)
        {
            Fail(GossipDecodeError.Truncated);
            return default;
        }

        var span = _data.Slice(Position, length);
        Position += length;
        return span;
    }
}
