using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Nanobox.Node.Security;

/// <summary>
/// What a join proof vouches for. Binding the server's TLS certificate means a proof captured by a
/// man in the middle is useless against the real server; the two nonces make every proof single-use;
/// the request and node id stop a proof being reused for another key or identity.
/// </summary>
public sealed record JoinTranscript(byte[] ServerCertificateDer, byte[] ServerNonce, byte[] ClientNonce, byte[] CertificateRequestDer, string NodeId);

/// <summary>
/// The joiner's proof that it knows the token's secret, without sending it: HMAC-SHA256 keyed by
/// the secret over a transcript of the handshake.
/// </summary>
public static class JoinProof
{
    public const string Domain = "nanobox-join-v1";
    public const int NonceBytes = 32;
    public const int Length = 32;

    public static byte[] NewNonce() => RandomNumberGenerator.GetBytes(NonceBytes);

    public static byte[] Compute(ReadOnlySpan<byte> secret, JoinTranscript transcript) =>
        HMACSHA256.HashData(secret, Encode(transcript));

    /// <summary>
    /// The server's proof that the CA it announces belongs to a cluster that knows the join secret; a
    /// joiner with a secret-derived token (no CA digest) accepts the CA only with it. Static for a CA and
    /// secret: replaying it is useless, because the joiner also needs TLS with a certificate from that CA.
    /// </summary>
    public static byte[] ProveCa(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> caCertificateDer) =>
        HMACSHA256.HashData(secret, [.. "nanobox-ca-proof-v1"u8, .. caCertificateDer]);

    /// <summary>Constant time, so the comparison leaks nothing about a correct proof.</summary>
    public static bool Verify(ReadOnlySpan<byte> secret, JoinTranscript transcript, ReadOnlySpan<byte> proof) =>
        CryptographicOperations.FixedTimeEquals(Compute(secret, transcript), proof);

    /// <summary>Each field length-prefixed, so no two different transcripts encode to the same bytes.</summary>
    private static byte[] Encode(JoinTranscript transcript)
    {
        using var buffer = new MemoryStream();
        Append(buffer, Encoding.UTF8.GetBytes(Domain));
        Append(buffer, SHA256.HashData(transcript.ServerCertificateDer));
        Append(buffer, transcript.ServerNonce);
        Append(buffer, transcript.ClientNonce);
        Append(buffer, SHA256.HashData(transcript.CertificateRequestDer));
        Append(buffer, Encoding.UTF8.GetBytes(transcript.NodeId));
        return buffer.ToArray();
    }

    private static void Append(MemoryStream buffer, ReadOnlySpan<byte> field)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, field.Length);
        buffer.Write(length);
        buffer.Write(field);
    }
}
