using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Nanobox.Node.Security;

/// <summary>Why a peer's certificate was refused.</summary>
public enum PeerRefusal
{
    NoCertificate,

    /// <summary>Does not chain to the pinned cluster CA (another cluster's CA, self-signed, tampered).</summary>
    UntrustedChain,

    NotYetValid,
    Expired,

    /// <summary>Not a node certificate: a CA, or missing the server and client authentication usages.</summary>
    WrongUsage,

    /// <summary>The subject does not name exactly one node and one cluster.</summary>
    MalformedSubject,

    /// <summary>Signed by this CA but naming another cluster id.</summary>
    WrongCluster,

    Revoked,

    /// <summary>A valid node, but not the one the caller meant to reach.</summary>
    UnexpectedNode,
}

/// <summary>The outcome of checking a peer certificate: its node id, or why it was refused.</summary>
public sealed record PeerValidation(string? NodeId, PeerRefusal? Refusal, string Detail)
{
    public bool IsAccepted => Refusal is null;

    public static PeerValidation Accept(string nodeId) => new(nodeId, null, "accepted");

    public static PeerValidation Refuse(PeerRefusal refusal, string detail, string? nodeId = null) => new(nodeId, refusal, detail);
}

/// <summary>
/// Decides whether a peer certificate belongs to a live member of this cluster. Trusts the pinned
/// cluster CA only (never the system store) and never goes online: revocation is the cluster's own
/// list, which the caller passes in fresh at every check.
/// </summary>
public sealed class PeerCertificateValidator
{
    private readonly X509Certificate2 _ca;
    private readonly string _clusterId;
    private readonly TimeProvider _time;

    public PeerCertificateValidator(X509Certificate2 caCertificate, string clusterId, TimeProvider? time = null)
    {
        _ca = caCertificate;
        _clusterId = clusterId;
        _time = time ?? TimeProvider.System;
    }

    public PeerValidation Validate(X509Certificate2? certificate, RevocationList revocations, string? expectedNodeId = null)
    {
        if (certificate is null)
        {
            return PeerValidation.Refuse(PeerRefusal.NoCertificate, "the peer sent no certificate");
        }

        var (nodeId, clusterId) = CertificateNames.Read(certificate);
        var now = _time.GetUtcNow();
        if (now < certificate.NotBefore.ToUniversalTime())
        {
            return PeerValidation.Refuse(PeerRefusal.NotYetValid, $"certificate valid only from {certificate.NotBefore.ToUniversalTime():u}", nodeId);
        }

        if (now > certificate.NotAfter.ToUniversalTime())
        {
            return PeerValidation.Refuse(PeerRefusal.Expired, $"certificate expired at {certificate.NotAfter.ToUniversalTime():u}", nodeId);
        }

        if (!IsNodeCertificate(certificate))
        {
            return PeerValidation.Refuse(PeerRefusal.WrongUsage, "not a node certificate (needs serverAuth and clientAuth, no CA)", nodeId);
        }

        if (!ChainsToCa(certificate, now, out var chainProblem))
        {
            return PeerValidation.Refuse(PeerRefusal.UntrustedChain, $"not issued by this cluster's CA ({chainProblem})", nodeId);
        }

        if (nodeId is null || clusterId is null)
        {
            return PeerValidation.Refuse(PeerRefusal.MalformedSubject, "the subject does not name one node (CN) and one cluster (OU)");
        }

        if (!string.Equals(clusterId, _clusterId, StringComparison.Ordinal))
        {
            return PeerValidation.Refuse(PeerRefusal.WrongCluster, $"certificate for cluster {clusterId}, this is cluster {_clusterId}", nodeId);
        }

        if (revocations.IsRevoked(nodeId, certificate.SerialNumber))
        {
            return PeerValidation.Refuse(PeerRefusal.Revoked, $"node {nodeId} or certificate serial {certificate.SerialNumber} is revoked", nodeId);
        }

        if (expectedNodeId is not null && !string.Equals(nodeId, expectedNodeId, StringComparison.Ordinal))
        {
            return PeerValidation.Refuse(PeerRefusal.UnexpectedNode, $"expected node {expectedNodeId}, the peer is node {nodeId}", nodeId);
        }

        return PeerValidation.Accept(nodeId);
    }

    private bool ChainsToCa(X509Certificate2 certificate, DateTimeOffset now, out string problem)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        // The only trusted root is the pinned CA, and its pathlen 0 admits no intermediate, so a
        // chain that builds is exactly this node certificate under this CA.
        var built = chain.Build(certificate);
        problem = built ? "" : string.Join(", ", chain.ChainStatus.Select(s => s.Status));
        return built;
    }

    private static bool IsNodeCertificate(X509Certificate2 certificate)
    {
        var constraints = certificate.Extensions.OfType<X509BasicConstraintsExtension>().SingleOrDefault();
        var usages = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().SingleOrDefault()?.EnhancedKeyUsages;
        return constraints is not { CertificateAuthority: true }
            && usages is not null
            && usages.Cast<Oid>().Select(o => o.Value).Intersect([CertificateNames.ServerAuthOid, CertificateNames.ClientAuthOid]).Count() == 2;
    }
}
