using System.Security.Cryptography;
using System.Text;

namespace Nanobox.Node.Security;

/// <summary>
/// Seals a secret at rest (the CA private key in the replicated state) with AES-256-GCM. The
/// associated data names what is sealed, so a sealed blob moved to another purpose does not open.
/// Layout: <c>version(1) | nonce(12) | ciphertext | tag(16)</c>.
/// </summary>
public static class SecretBox
{
    public const int KeySize = 32;

    private const byte FormatVersion = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int Overhead = 1 + NonceSize + TagSize;

    public static byte[] Seal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> plaintext, string purpose)
    {
        var sealedBytes = new byte[plaintext.Length + Overhead];
        sealedBytes[0] = FormatVersion;
        var nonce = sealedBytes.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(CheckKey(key), TagSize);
        aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(1 + NonceSize, plaintext.Length), sealedBytes.AsSpan(^TagSize), AssociatedData(purpose));
        return sealedBytes;
    }

    /// <returns>The plaintext, or null when the blob is malformed, tampered with, sealed under another key or for another purpose.</returns>
    public static byte[]? Open(ReadOnlySpan<byte> key, ReadOnlySpan<byte> sealedBytes, string purpose)
    {
        if (sealedBytes.Length < Overhead || sealedBytes[0] != FormatVersion)
        {
            return null;
        }

        var plaintext = new byte[sealedBytes.Length - Overhead];
        using var aes = new AesGcm(CheckKey(key), TagSize);
        try
        {
            aes.Decrypt(sealedBytes.Slice(1, NonceSize), sealedBytes.Slice(1 + NonceSize, plaintext.Length), sealedBytes[^TagSize..], plaintext, AssociatedData(purpose));
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
    }

    private static ReadOnlySpan<byte> CheckKey(ReadOnlySpan<byte> key) =>
        key.Length == KeySize ? key : throw new ArgumentException($"A secret box key is {KeySize} bytes, not {key.Length}.", nameof(key));

    /// <summary>The version too, so a future format cannot be opened as this one.</summary>
    private static byte[] AssociatedData(string purpose) => [FormatVersion, .. Encoding.UTF8.GetBytes(purpose)];
}
