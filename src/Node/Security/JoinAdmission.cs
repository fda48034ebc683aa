using System.Net;
using System.Security.Cryptography;

namespace Nanobox.Node.Security;

/// <summary>
/// The server side of the join handshake, without sockets: checks a join request and, when it is
/// sound, issues the joiner's certificate. Never throws on anything a joiner can send.
/// </summary>
public sealed class JoinAdmission
{
    public const int MaxAddresses = 16;
    public const int MaxNameLength = 64;

    private readonly JoinToken _token;
    private readonly ClusterCertificateAuthority _ca;
    private readonly TimeSpan? _nodeLifetime;

    public JoinAdmission(JoinToken token, ClusterCertificateAuthority ca, TimeSpan? nodeLifetime = null)
    {
        _token = token;
        _ca = ca;
        _nodeLifetime = nodeLifetime;
    }

    public JoinHello Hello(byte[] serverNonce) => new(JoinHello.CurrentVersion, serverNonce, _ca.Certificate.RawData);

    /// <param name="serverCertificateDer">The certificate this server presented in the TLS handshake the request came over.</param>
    /// <returns>The issued certificate (DER), or the refusal to send back.</returns>
    public (byte[]? CertificateDer, JoinError? Error) Admit(JoinRequest request, byte[] serverCertificateDer, byte[] serverNonce, RevocationList revocations)
    {
        var malformed = FindMalformation(request);
        if (malformed is not null)
        {
            return (null, JoinError.BadRequest(malformed));
        }

        var transcript = new JoinTranscript(serverCertificateDer, serverNonce, request.ClientNonce, request.CertificateRequest, request.NodeId);
        if (!JoinProof.Verify(_token.Secret, transcript, request.Proof))
        {
            return (null, JoinError.BadProof());
        }

        if (revocations.IsNodeRevoked(request.NodeId))
        {
            return (null, JoinError.Revoked(request.NodeId));
        }

        try
        {
            using var certificate = _ca.Issue(request.CertificateRequest, request.NodeId, request.Addresses.Select(IPAddress.Parse), _nodeLifetime);
            return (certificate.RawData, null);
        }
        catch (CryptographicException)
        {
            return (null, JoinError.BadRequest("the certificate request is malformed, not signed by its key, or not for an ECDSA P-256 key"));
        }
    }

    private static string? FindMalformation(JoinRequest request)
    {
        if (!Base32.TryDecode(request.NodeId, stackalloc byte[16], out _))
        {
            return "the node id is not 26 lowercase base32 characters";
        }

        if (request.Name.Length is 0 or > MaxNameLength || request.Name.Any(char.IsControl))
        {
            return $"the node name must be 1 to {MaxNameLength} printable characters";
        }

        if (request.Addresses.Count is 0 or > MaxAddresses || !request.Addresses.All(a => IPAddress.TryParse(a, out _)))
        {
            return $"the node must give 1 to {MaxAddresses} IP addresses";
        }

        if (request.ClientNonce.Length != JoinProof.NonceBytes || request.Proof.Length != JoinProof.Length)
        {
            return "the nonce or proof has the wrong length";
        }

        return null;
    }
}
