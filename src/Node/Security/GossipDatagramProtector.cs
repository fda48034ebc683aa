using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Nanobox.Node.Security;

/// <summary>
/// Seals gossip datagrams with AES-256-GCM under the key ring's primary key. Layout:
/// <c>version(1) | key id(4) | timestamp ms(8) | nonce(12) | ciphertext | tag(16)</c>, with
/// everything before the ciphertext authenticated. Opening checks the key, then the timestamp and
/// the replay window; every outcome is counted and no input makes it throw.
/// </summary>
public sealed class GossipDatagramProtector : IDatagramProtector
{
    public const byte FormatVersion = 1;

    private const int KeyIdOffset = 1;
    private const int TimestampOffset = KeyIdOffset + GossipKey.IdSize;
    private const int NonceOffset = TimestampOffset + sizeof(long);
    private const int NonceSize = 12;
    private const int HeaderSize = NonceOffset + NonceSize;
    private const int TagSize = 16;

    private static readonly bool[] NamedKeyFirst = [true, false];

    private readonly GossipKeyRing _ring;
    private readonly TimeProvider _time;
    private readonly ReplayWindow _replay;
    private readonly uint _noncePrefix;
    private long _nonceCounter;

    public GossipDatagramProtector(GossipKeyRing ring, TimeProvider? time = null, ReplayWindow? replay = null)
    {
        _ring = ring;
        _time = time ?? TimeProvider.System;
        _replay = replay ?? new ReplayWindow();
        // Nonces are a random per-instance prefix and a counter that starts anywhere: unique for
        // this sender without asking the RNG per datagram, and unlikely to meet another sender's.
        Span<byte> seed = stackalloc byte[12];
        RandomNumberGenerator.Fill(seed);
        _noncePrefix = BinaryPrimitives.ReadUInt32BigEndian(seed);
        _nonceCounter = BinaryPrimitives.ReadInt64BigEndian(seed[4..]);
    }

    public int Overhead => HeaderSize + TagSize;

    public DatagramCounters Counters { get; } = new();

    public int Seal(ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        var length = plaintext.Length + Overhead;
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, length, nameof(destination));

        var key = _ring.Primary;
        var header = destination[..HeaderSize];
        header[0] = FormatVersion;
        BinaryPrimitives.WriteUInt32BigEndian(header[KeyIdOffset..], key.Id);
        BinaryPrimitives.WriteInt64BigEndian(header[TimestampOffset..], _time.GetUtcNow().ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteUInt32BigEndian(header[NonceOffset..], _noncePrefix);
        BinaryPrimitives.WriteInt64BigEndian(header[(NonceOffset + 4)..], Interlocked.Increment(ref _nonceCounter));

        using var aes = new AesGcm(key.Material, TagSize);
        aes.Encrypt(header[NonceOffset..], plaintext, destination.Slice(HeaderSize, plaintext.Length), destination.Slice(HeaderSize + plaintext.Length, TagSize), header);
        return length;
    }

    public DatagramVerdict Open(ReadOnlySpan<byte> datagram, Span<byte> plaintext, out int written)
    {
        var verdict = Check(datagram, plaintext, out written);
        Counters.Count(verdict);
        return verdict;
    }

    private DatagramVerdict Check(ReadOnlySpan<byte> datagram, Span<byte> plaintext, out int written)
    {
        written = 0;
        if (datagram.Length > 0 && datagram[0] != FormatVersion)
        {
            return DatagramVerdict.UnknownVersion;
        }

        if (datagram.Length < Overhead)
        {
            return DatagramVerdict.Truncated;
        }

        var length = datagram.Length - Overhead;
        ArgumentOutOfRangeException.ThrowIfLessThan(plaintext.Length, length, nameof(plaintext));
        var header = datagram[..HeaderSize];
        if (!TryDecrypt(header, datagram.Slice(HeaderSize, length), datagram[^TagSize..], plaintext[..length]))
        {
            return DatagramVerdict.Forged;
        }

        var nonce = new UInt128(BinaryPrimitives.ReadUInt32BigEndian(header[NonceOffset..]), BinaryPrimitives.ReadUInt64BigEndian(header[(NonceOffset + 4)..]));
        var timestamp = BinaryPrimitives.ReadInt64BigEndian(header[TimestampOffset..]);
        var verdict = _replay.Check(nonce, timestamp, _time.GetUtcNow().ToUnixTimeMilliseconds());
        if (verdict == DatagramVerdict.Accepted)
        {
            written = length;
        }
        else
        {
            CryptographicOperations.ZeroMemory(plaintext[..length]);
        }

        return verdict;
    }

    /// <summary>The key the header names first, then the rest: ids are short and could collide.</summary>
    private bool TryDecrypt(ReadOnlySpan<byte> header, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext)
    {
        var keyId = BinaryPrimitives.ReadUInt32BigEndian(header[KeyIdOffset..]);
        var keys = _ring.Keys;
        foreach (var named in NamedKeyFirst)
        {
            foreach (var key in keys)
            {
                if ((key.Id == keyId) != named)
                {
                    continue;
                }

                try
                {
                    using var aes = new AesGcm(key.Material, TagSize);
                    aes.Decrypt(header[NonceOffset..], ciphertext, tag, plaintext, header);
                    return true;
                }
                catch (CryptographicException)
                {
                    // Not this key; the next one may be.
                }
            }
        }

        return false;
    }
}
