using System.Security.Cryptography;

namespace Nanobox.Node.Security;

/// <summary>
/// The cluster's gossip keys, as memberlist keeps them: the primary seals, every key opens. Rotation
/// without downtime is Install (everyone can open the new key), then Use (everyone seals with it),
/// then Remove the old one. Readers see an immutable snapshot, so sealing and opening on other
/// threads never observe a half-made change.
/// </summary>
public sealed class GossipKeyRing
{
    private const byte FormatVersion = 1;

    // A leaf lock (the cluster runtime's key changes); readers take none.
    private readonly Lock _changes = new();
    private volatile IReadOnlyList<GossipKey> _keys;

    /// <summary>A ring of one or more keys; the first is primary.</summary>
    public GossipKeyRing(IEnumerable<GossipKey> keys)
    {
        var list = keys.ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException("A key ring needs at least one key.", nameof(keys));
        }

        _keys = list;
    }

    /// <summary>All keys, primary first.</summary>
    public IReadOnlyList<GossipKey> Keys => _keys;

    public GossipKey Primary => _keys[0];

    /// <summary>Adds a key for opening. Installing a key already present does nothing.</summary>
    public void Install(GossipKey key)
    {
        lock (_changes)
        {
            if (IndexOf(key) < 0)
            {
                _keys = [.. _keys, key];
            }
        }
    }

    /// <summary>Makes an installed key the primary.</summary>
    /// <exception cref="InvalidOperationException">The key is not installed.</exception>
    public void Use(GossipKey key)
    {
        lock (_changes)
        {
            var index = IndexOf(key);
            if (index < 0)
            {
                throw new InvalidOperationException("Install the key on every node before making it primary.");
            }

            _keys = [_keys[index], .. _keys.Where((_, i) => i != index)];
        }
    }

    /// <exception cref="InvalidOperationException">The key is the primary.</exception>
    public void Remove(GossipKey key)
    {
        lock (_changes)
        {
            var index = IndexOf(key);
            if (index == 0)
            {
                throw new InvalidOperationException("The primary key cannot be removed; make another key primary first.");
            }

            if (index > 0)
            {
                _keys = [.. _keys.Where((_, i) => i != index)];
            }
        }
    }

    /// <summary>For the join response: a version byte, then the keys, primary first. Secret.</summary>
    public byte[] Serialize()
    {
        var keys = _keys;
        var bytes = new byte[1 + keys.Count * GossipKey.Size];
        bytes[0] = FormatVersion;
        for (var i = 0; i < keys.Count; i++)
        {
            keys[i].Material.CopyTo(bytes, 1 + i * GossipKey.Size);
        }

        return bytes;
    }

    /// <exception cref="FormatException">Not a serialized key ring.</exception>
    public static GossipKeyRing Deserialize(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 1 + GossipKey.Size || bytes[0] != FormatVersion || (bytes.Length - 1) % GossipKey.Size != 0)
        {
            throw new FormatException("Not a serialized gossip key ring (version 1, whole 32-byte keys, at least one).");
        }

        var keys = new List<GossipKey>();
        for (var offset = 1; offset < bytes.Length; offset += GossipKey.Size)
        {
            keys.Add(new GossipKey(bytes.Slice(offset, GossipKey.Size).ToArray()));
        }

        return new GossipKeyRing(keys);
    }

    private int IndexOf(GossipKey key)
    {
        var keys = _keys;
        for (var i = 0; i < keys.Count; i++)
        {
            if (keys[i].SameAs(key))
            {
                return i;
            }
        }

        return -1;
    }
}
