using System.Net;
using System.Net.Security;

namespace Nanobox.Node.Cluster.Consensus;

/// <summary>
/// TLS for the Raft (control) connections, supplied by Security. Its implementation is expected to:
/// present the node certificate (ServerCertificateContext / ClientCertificateContext, or selection
/// callbacks so renewed certificates are picked up without a restart); require a client certificate;
/// and validate the peer in RemoteCertificateValidationCallback against the cluster CA alone
/// (X509ChainPolicy with TrustMode = CustomRootTrust and the CA in CustomTrustStore), refusing
/// certificates whose serial or node id is in <see cref="ClusterState.Revocations"/>. Consensus
/// adds only logging: DotNext drops a connection whose handshake fails without a word, so every
/// refusal by the callback is logged with the peer's subject and the policy errors.
/// </summary>
public interface IControlTlsOptions
{
    /// <summary>Read once at start; use callbacks or a certificate context for anything that changes later.</summary>
    SslServerAuthenticationOptions CreateServerOptions();

    /// <summary>Called for every outgoing Raft connection.</summary>
    SslClientAuthenticationOptions CreateClientOptions(EndPoint server);
}
