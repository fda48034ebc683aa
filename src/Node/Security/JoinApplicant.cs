using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Nanobox.Node.Security;

/// <summary>
/// The joiner's side of the handshake, without sockets: pins the CA by the token's digest before
/// anything is sent, answers with a proof and a certificate request for a key that never leaves
/// this node, and checks what comes back.
/// </summary>
public sealed class JoinApplicant : IDisposable
{
    private readonly JoinToken _token;
    private readonly string _nodeId;
    private readonly string _name;
    private readonly IReadOnlyList<IPAddress> _addresses;
    private readonly ECDsa _key;
    private readonly byte[] _certificateRequest;
    private X509Certificate2? _ca;

    public JoinApplicant(JoinToken token, string nodeId, string name, IReadOnlyList<IPAddress> addresses)
    {
        _token = token;
        _nodeId = nodeId;
        _name = name;
        _addresses = addresses;
        (_key, _certificateRequest) = NodeCredentials.CreateKeyAndRequest(nodeId);
    }

    /// <param name="serverCertificate">The certificate the server presented in TLS.</param>
    /// <exception cref="JoinFailedException">The server speaks another protocol version, its CA is not the token's, or its certificate is not from that CA.</exception>
    public JoinRequest Answer(JoinHello hello, X509Certificate2 serverCertificate)
    {
        if (hello.Version != JoinHello.CurrentVersion)
        {
            throw new JoinFailedException(JoinFailure.Protocol, $"It speaks join protocol version {hello.Version}, this node version {JoinHello.CurrentVersion}: run the same nanobox version on both. Nothing was sent.");
        }

        var caProven = _token.PinsCa
            ? _token.MatchesCa(hello.CaCertificate)
            : hello.CaProof is { } caProof && CryptographicOperations.FixedTimeEquals(JoinProof.ProveCa(_token.Secret, hello.CaCertificate), caProof);
        if (!caProven)
        {
            throw new JoinFailedException(JoinFailure.CaMismatch, "Its CA does not match the join token's digest: the token is for another cluster or was mistyped (or something is intercepting the connection). Nothing was sent.");
        }

        _ca?.Dispose();
        _ca = X509CertificateLoader.LoadCertificate(hello.CaCertificate);
        var check = Validator(_ca).Validate(serverCertificate, RevocationList.Empty);
        if (!check.IsAccepted)
        {
            throw new JoinFailedException(JoinFailure.UntrustedServer, $"Its certificate was refused: {check.Detail}. Nothing was sent.");
        }

        var clientNonce = JoinProof.NewNonce();
        var proof = JoinProof.Compute(_token.Secret, new JoinTranscript(serverCertificate.RawData, hello.ServerNonce, clientNonce, _certificateRequest, _nodeId));
        return new JoinRequest(clientNonce, _nodeId, _name, _addresses.Select(a => a.ToString()).ToList(), _certificateRequest, proof);
    }

    /// <exception cref="JoinFailedException">The server refused, or its answer is not a certificate for this node from the pinned CA.</exception>
    public NodeCredentials Complete(JoinMessage reply)
    {
        if (reply is JoinError error)
        {
            throw new JoinFailedException(JoinFailure.Refused, $"It refused to admit this node ({error.Code}): {error.Message}", errorCode: error.Code) { Leader = error.Leader };
        }

        if (_ca is null || reply is not JoinResponse response || !response.CaCertificate.AsSpan().SequenceEqual(_ca.RawData)
            || response.ClusterId != CertificateNames.Read(_ca).ClusterId)
        {
            throw new JoinFailedException(JoinFailure.Protocol, "It answered out of turn, or for another CA or cluster than it announced.");
        }

        try
        {
            var credentials = NodeCredentials.FromIssued(response.NodeCertificate, _key);
            var check = Validator(_ca).Validate(credentials.Certificate, RevocationList.Empty, _nodeId);
            if (check.IsAccepted)
            {
                return credentials;
            }

            credentials.Dispose();
            throw new JoinFailedException(JoinFailure.Protocol, $"The certificate it issued is unusable: {check.Detail}.");
        }
        catch (CryptographicException failure)
        {
            throw new JoinFailedException(JoinFailure.Protocol, "The certificate it issued is malformed or not for this node's key.", failure);
        }
    }

    public void Dispose()
    {
        _ca?.Dispose();
        // The credentials from Complete hold their own handle to the key (CopyWithPrivateKey duplicates it).
        _key.Dispose();
    }

    private static PeerCertificateValidator Validator(X509Certificate2 ca) =>
        new(ca, CertificateNames.Read(ca).ClusterId ?? "", TimeProvider.System);
}
