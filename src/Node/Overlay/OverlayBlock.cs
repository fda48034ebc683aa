using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Nanobox.Node.Overlay;

/// <summary>
/// One node's /24 of the overlay: the host's own address is .1, containers take .2 to .254. Every overlay
/// address has a MAC derived from it (02:42 and the four address bytes, as Docker derives them), so a peer
/// that knows an address knows its MAC, and a node announces its endpoints as a bitmap of host numbers.
/// </summary>
/// <param name="Subnet">The whole overlay: addresses on the bridge carry its prefix, so every block is on-link.</param>
public sealed record OverlayBlock(IPNetwork Subnet, int Index)
{
    public const int HostNumber = 1;
    public const int FirstContainerNumber = 2;
    public const int LastContainerNumber = 254;

    /// <summary>One bit per host number of the /24.</summary>
    public const int EndpointBitmapLength = 32;

    public static OverlayBlock Of(IPNetwork subnet, int index)
    {
        var blocks = 1 << (OverlayNetwork.BlockPrefixLength - subnet.PrefixLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, blocks);
        return new OverlayBlock(subnet, index);
    }

    public IPNetwork Network => new(Address(0), OverlayNetwork.BlockPrefixLength);

    /// <summary>The host's own overlay address (on the bridge; the containers' gateway).</summary>
    public IPAddress HostAddress => Address(HostNumber);

    /// <summary>The address with host number <paramref name="number"/> (0-255) in this block.</summary>
    public IPAddress Address(int number)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(number);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(number, 255);
        var baseValue = BinaryPrimitives.ReadUInt32BigEndian(Subnet.BaseAddress.GetAddressBytes());
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, baseValue + ((uint)Index << 8) + (uint)number);
        return new IPAddress(bytes);
    }

    /// <summary>The host number of <paramref name="address"/> in this block, or null when it is not a usable address of the block.</summary>
    public int? NumberOf(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork || !Network.Contains(address))
        {
            return null;
        }

        var number = address.GetAddressBytes()[3];
        return number is >= HostNumber and <= LastContainerNumber ? number : null;
    }

    /// <summary>02:42 and the IPv4 address: locally administered, unicast, and the same on every node.</summary>
    public static PhysicalAddress MacFor(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"{address} is not an IPv4 overlay address", nameof(address));
        }

        var mac = new byte[6];
        mac[0] = 0x02;
        mac[1] = 0x42;
        address.GetAddressBytes().CopyTo(mac, 2);
        return new PhysicalAddress(mac);
    }

    /// <summary>The host numbers of <paramref name="addresses"/> that belong to this block, as a 32-byte bitmap.</summary>
    public byte[] EncodeEndpoints(IEnumerable<IPAddress> addresses)
    {
        var bitmap = new byte[EndpointBitmapLength];
        foreach (var number in addresses.Select(NumberOf).OfType<int>())
        {
            bitmap[number >> 3] |= (byte)(1 << (number & 7));
        }

        return bitmap;
    }

    /// <summary>The addresses a peer's bitmap announces; bits outside .1-.254 and a bitmap of the wrong size announce nothing.</summary>
    public IReadOnlyList<IPAddress> DecodeEndpoints(ReadOnlySpan<byte> bitmap)
    {
        if (bitmap.Length != EndpointBitmapLength)
        {
            return [];
        }

        var addresses = new List<IPAddress>();
        for (var number = HostNumber; number <= LastContainerNumber; number++)
        {
            if ((bitmap[number >> 3] & (1 << (number & 7))) != 0)
            {
                addresses.Add(Address(number));
            }
        }

        return addresses;
    }
}
