using Nanobox.Node.Security;

namespace Nanobox.Node.Cluster.Join;

/// <summary>
/// Who decides a join, behind the <see cref="JoinServer"/>. Implemented by the cluster layer: on the
/// leader it runs <see cref="JoinAdmission"/> (only the leader holds the CA key and signs), on any
/// other member it forwards the request to the leader. Every member can serve the join port because
/// every member has the CA certificate.
/// </summary>
public interface IJoinAuthority
{
    /// <summary>The cluster CA's certificate (DER), sent in every <see cref="JoinHello"/>.</summary>
    byte[] CaCertificateDer { get; }

    /// <summary>The hello's <see cref="JoinProof.ProveCa"/> for the current join secret, or null.</summary>
    byte[]? CaProof => null;

    /// <summary>
    /// Decides <paramref name="request"/>, which arrived from a stranger: must answer a refusal, not
    /// throw, for anything a joiner can send. Throwing means the cluster cannot decide now.
    /// </summary>
    /// <param name="serverCertificateDer">The certificate the serving node presented in TLS (the proof is bound to it).</param>
    /// <param name="serverNonce">The nonce of the <see cref="JoinHello"/> the request answers.</param>
    /// <param name="clientCertificateDer">
    /// The certificate the joiner presented in TLS, if any: a member that moved to a new address proves
    /// with it that it is the node it claims to be. Unverified here; the authority checks it.
    /// </param>
    Task<JoinOutcome> AdmitAsync(JoinRequest request, byte[] serverCertificateDer, byte[] serverNonce, byte[]? clientCertificateDer, CancellationToken cancellationToken);
}

/// <summary>The authority's answer to a join request: a <see cref="JoinResponse"/> or a <see cref="JoinError"/>, nothing else.</summary>
public sealed class JoinOutcome
{
    private JoinOutcome(JoinMessage reply) => Reply = reply;

    /// <summary>What goes back to the joiner.</summary>
    public JoinMessage Reply { get; }

    public static implicit operator JoinOutcome(JoinResponse admitted) => new(admitted);

    public static implicit operator JoinOutcome(JoinError refused) => new(refused);
}
