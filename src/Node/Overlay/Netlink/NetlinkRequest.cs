using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Nanobox.Node.Overlay.Netlink;

/// <summary>
/// Encodes one request: nlmsghdr, a fixed header, then rtattrs (nested ones too), each padded to 4 bytes
/// as NLMSG_ALIGN/RTA_ALIGN do. Pure: the socket stamps the sequence number when it sends.
/// </summary>
internal sealed class NetlinkRequest
{
    public const int HeaderLength = 16;
    private const int AttributeHeaderLength = 4;

    private byte[] _buffer = new byte[128];
    private int _length;

    public NetlinkRequest(ushort type, ushort flags)
    {
        Reserve(HeaderLength);
        MemoryMarshal.Write(_buffer.AsSpan(4), type);
        MemoryMarshal.Write(_buffer.AsSpan(6), flags);
    }

    /// <summary>Writes the fixed header (ifinfomsg, ifaddrmsg, ndmsg) right after nlmsghdr.</summary>
    public NetlinkRequest Header<T>(T header)
        where T : unmanaged
    {
        MemoryMarshal.Write(Reserve(Unsafe.SizeOf<T>()), in header);
        return this;
    }

    public NetlinkRequest Attribute(ushort type, ReadOnlySpan<byte> value)
    {
        var span = Reserve(AttributeHeaderLength + value.Length);
        MemoryMarshal.Write(span, (ushort)span.Length);
        MemoryMarshal.Write(span[2..], type);
        value.CopyTo(span[AttributeHeaderLength..]);
        return this;
    }

    public NetlinkRequest U8(ushort type, byte value) => Attribute(type, [value]);

    public NetlinkRequest Flag(ushort type, bool value) => U8(type, value ? (byte)1 : (byte)0);

    public NetlinkRequest U32(ushort type, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        MemoryMarshal.Write(bytes, value);
        return Attribute(type, bytes);
    }

    /// <summary>A 16-bit value in network byte order (ports: IFLA_VXLAN_PORT, NDA_PORT).</summary>
    public NetlinkRequest BigEndianU16(ushort type, ushort value)
    {
        Span<byte> bytes = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, value);
        return Attribute(type, bytes);
    }

    /// <summary>A NUL-terminated string, as the kernel's NLA_STRING/NLA_NUL_STRING policies expect.</summary>
    public NetlinkRequest String(ushort type, string value)
    {
        Span<byte> bytes = stackalloc byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        return Attribute(type, bytes);
    }

    public NetlinkRequest Address(ushort type, IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        return Attribute(type, bytes[..written]);
    }

    public NetlinkRequest Mac(ushort type, PhysicalAddress mac) => Attribute(type, mac.GetAddressBytes());

    /// <summary>Starts a nested attribute; attributes written until <see cref="EndNested"/> go inside it.</summary>
    /// <param name="type">The attribute type; OR in NLA_F_NESTED (0x8000) where the kernel asks for it.</param>
    public int BeginNested(ushort type)
    {
        var start = _length;
        Attribute(type, []);
        return start;
    }

    public NetlinkRequest EndNested(int start)
    {
        MemoryMarshal.Write(_buffer.AsSpan(start), (ushort)(_length - start));
        return this;
    }

    /// <summary>The finished message, nlmsg_len filled in, sequence number 0.</summary>
    public byte[] ToArray()
    {
        MemoryMarshal.Write(_buffer.AsSpan(), (uint)_length);
        return _buffer.AsSpan(0, _length).ToArray();
    }

    public static int Align(int length) => (length + 3) & ~3;

    /// <summary>Appends <paramref name="length"/> zeroed bytes, padded to 4, and returns the unpadded span.</summary>
    private Span<byte> Reserve(int length)
    {
        var start = _length;
        var end = start + Align(length);
        if (end > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(end, _buffer.Length * 2));
        }

        _buffer.AsSpan(start, end - start).Clear();
        _length = end;
        return _buffer.AsSpan(start, length);
    }
}
