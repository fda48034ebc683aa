using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Nanobox.Node.Security;

/// <summary>
/// `NBX1-&lt;digest&gt;-&lt;secret&gt;`: the digest (SHA-256 of the root CA certificate) lets a joiner pin
/// the CA before it trusts or sends anything; the secret (160 random bits) admits it. Both lowercase
/// base32. <see cref="ToString"/> is masked so a token that reaches a log leaks nothing;
/// <see cref="Reveal"/> is for the one place that shows it to the operator.
/// </summary>
public sealed class JoinToken
{
    public const string Prefix = "NBX";
    public const int Version = 1;
    public const int SecretBytes = 20;

    private const int DigestBytes = 32;

    private readonly byte[] _caDigest;
    private readonly byte[] _secret;

    private JoinToken(byte[] caDigest, byte[] secret)
    {
        _caDigest = caDigest;
        _secret = secret;
    }

    public ReadOnlySpan<byte> CaDigest => _caDigest;

    /// <summary>
    /// False for a token derived from the shared `cluster.secret` of a self-forming cluster: it pins no
    /// CA digest (none exists before the cluster forms), so the server must prove the secret instead.
    /// </summary>
    public bool PinsCa => _caDigest.Length > 0;

    /// <summary>The key of the join proof. Never sent: the joiner proves it knows it.</summary>
    public ReadOnlySpan<byte> Secret => _secret;

    /// <summary>A token for the CA whose certificate is <paramref name="caCertificateDer"/>, with a fresh secret.</summary>
    public static JoinToken Create(ReadOnlySpan<byte> caCertificateDer) =>
        new(SHA256.HashData(caCertificateDer), RandomNumberGenerator.GetBytes(SecretBytes));

    /// <summary>
    /// The join secret every node started with the same `cluster.secret` derives alike (HKDF-SHA256),
    /// as a token that pins no CA digest: <see cref="JoinApplicant"/> then checks the CA by the server's
    /// <see cref="JoinProof.ProveCa"/> proof instead.
    /// </summary>
    public static JoinToken FromClusterSecret(string clusterSecret) =>
        new([], HKDF.DeriveKey(HashAlgorithmName.SHA256, System.Text.Encoding.UTF8.GetBytes(clusterSecret), SecretBytes, info: "nanobox join secret v1"u8.ToArray()));

    /// <summary>The token for a CA and a secret the cluster already holds (printing the current token on any member).</summary>
    public static JoinToken FromSecret(ReadOnlySpan<byte> caCertificateDer, ReadOnlySpan<byte> secret) =>
        secret.Length == SecretBytes
            ? new(SHA256.HashData(caCertificateDer), secret.ToArray())
            : throw new ArgumentException($"a join secret is {SecretBytes} bytes", nameof(secret));

    /// <exception cref="FormatException">Says what is wrong with the text, without repeating the secret.</exception>
    public static JoinToken Parse(string text) =>
        TryParse(text, out var token, out var error) ? token : throw new FormatException(error);

    public static bool TryParse(string? text, [NotNullWhen(true)] out JoinToken? token, [NotNullWhen(false)] out string? error)
    {
        token = null;
        text = text?.Trim();
        if (string.IsNullOrEmpty(text) || !text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            error = $"not a nanobox join token: it should start with {Prefix}{Version}-";
            return false;
        }

        var parts = text.Split('-');
        if (parts[0] != $"{Prefix}{Version}")
        {
            error = $"join token version '{parts[0][Prefix.Length..]}' is not supported: this node reads {Prefix}{Version} tokens";
            return false;
        }

        if (parts.Length != 3)
        {
            error = $"a join token has three parts, {Prefix}{Version}-<CA digest>-<secret>; this one has {parts.Length}";
            return false;
        }

        var digest = new byte[DigestBytes];
        var secret = new byte[SecretBytes];
        error = DecodeError("CA digest", parts[1], digest) ?? DecodeError("secret", parts[2], secret);
        if (error is not null)
        {
            return false;
        }

        token = new JoinToken(digest, secret);
        return true;
    }

    /// <summary>Whether <paramref name="caCertificateDer"/> is the CA this token pins; constant time.</summary>
    public bool MatchesCa(ReadOnlySpan<byte> caCertificateDer) =>
        PinsCa && CryptographicOperations.FixedTimeEquals(SHA256.HashData(caCertificateDer), _caDigest);

    /// <summary>The full token, secret included: for `cluster init` and `cluster token` output only.</summary>
    public string Reveal() => $"{Prefix}{Version}-{Base32.Encode(_caDigest)}-{Base32.Encode(_secret)}";

    /// <summary>Enough to tell tokens apart (the CA digest's start), nothing that admits.</summary>
    public override string ToString() => $"{Prefix}{Version}-{Base32.Encode(_caDigest)[..8]}…-****";

    private static string? DecodeError(string part, string text, Span<byte> destination)
    {
        var expected = Base32.EncodedLength(destination.Length);
        if (text.Length != expected)
        {
            return $"the {part} has {text.Length} characters, expected {expected}: was the token cut off or mistyped?";
        }

        if (!Base32.TryDecode(text, destination, out var position))
        {
            // The position, not the character: the secret's characters must not end up in a log.
            return $"the {part} has a character outside lowercase base32 (a-z, 2-7), or a wrong last character, at position {position + 1}";
        }

        return null;
    }
}
