using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Security;

namespace Nanobox.Node.Cluster;

/// <summary>
/// Mutual TLS for Raft connections (DotNext owns those sockets, so it takes options rather than a
/// secured stream): the node certificate on both sides, the peer checked against the cluster CA and
/// the current revocations on every handshake, exactly as <see cref="MutualTls"/> checks other streams.
/// </summary>
public sealed class ClusterTls(NodeCredentials credentials, PeerCertificateValidator validator, Func<RevocationList> revocations) : IControlTlsOptions
{
    private readonly SslStreamCertificateContext _certificate = SslStreamCertificateContext.Create(credentials.Certificate, additionalCertificates: null, offline: true);

    public SslServerAuthenticationOptions CreateServerOptions() => new()
    {
        ServerCertificateContext = _certificate,
        ClientCertificateRequired = true,
        EnabledSslProtocols = SslProtocols.Tls13,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => IsAccepted(certificate),
    };

    public SslClientAuthenticationOptions CreateClientOptions(EndPoint server) => new()
    {
        TargetHost = "nanobox",
        ClientCertificateContext = _certificate,
        EnabledSslProtocols = SslProtocols.Tls13,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => IsAccepted(certificate),
    };

    private bool IsAccepted(X509Certificate? certificate) =>
        validator.Validate(certificate as X509Certificate2, revocations()).IsAccepted;
}
