namespace Nanobox.Node.Security;

/// <summary>Why a datagram was dropped, or that it was accepted. Drops are counted per verdict.</summary>
public enum DatagramVerdict
{
    Accepted,

    /// <summary>Too short to hold the header and tag.</summary>
    Truncated,

    /// <summary>No key in the ring authenticates it (forged, corrupted, or sealed with a removed key).</summary>
    Forged,

    /// <summary>Authentic, but already seen: a replay.</summary>
    Replayed,

    /// <summary>Authentic, but sealed too long ago (or too far in the future) to be checked against the replay cache.</summary>
    Stale,

    /// <summary>Not a format version this node speaks.</summary>
    UnknownVersion,
}

/// <summary>
/// Authenticates and encrypts gossip datagrams (AES-GCM with the cluster's rotating key ring).
/// The gossip layer sees only plaintext; Security owns keys, nonces and replay protection.
/// </summary>
public interface IDatagramProtector
{
    /// <summary>Bytes a sealed datagram adds to its plaintext; the gossip layer keeps plaintext within MTU minus this.</summary>
    int Overhead { get; }

    /// <summary>Seals <paramref name="plaintext"/> into <paramref name="destination"/> (at least plaintext + Overhead bytes); returns bytes written.</summary>
    int Seal(ReadOnlySpan<byte> plaintext, Span<byte> destination);

    /// <summary>Checks and decrypts a datagram into <paramref name="plaintext"/> (at least datagram length bytes).</summary>
    DatagramVerdict Open(ReadOnlySpan<byte> datagram, Span<byte> plaintext, out int written);
}
