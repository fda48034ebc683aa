using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Nanobox.Node.Security;

/// <summary>One gossip key and the short id that tells receivers which key sealed a datagram.</summary>
public sealed class GossipKey
{
    public const int Size = 32;
    public const int IdSize = 4;

    public GossipKey(byte[] material)
    {
        if (material.Length != Size)
        {
            throw new ArgumentException($"A gossip key is {Size} bytes, not {material.Length}.", nameof(material));
        }

        Material = material;
        Id = BinaryPrimitives.ReadUInt32BigEndian(SHA256.HashData(material));
    }

    public byte[] Material { get; }

    /// <summary>The first bytes of the key's SHA-256: names the key without revealing it.</summary>
    public uint Id { get; }

    public static GossipKey Generate() => new(RandomNumberGenerator.GetBytes(Size));

    public bool SameAs(GossipKey other) => CryptographicOperations.FixedTimeEquals(Material, other.Material);
}
