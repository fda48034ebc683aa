using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Security;

namespace Nanobox.Node.Tests.Consensus;

/// <summary>A throwaway cluster CA issuing node certificates (CN = node id), as Security will.</summary>
internal sealed class TestPki : IDisposable
{
    private readonly ECDsa _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public TestPki(string name = "nanobox test CA")
    {
        var request = new CertificateRequest($"CN={name}", _caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        Ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    public X509Certificate2 Ca { get; }

    public X509Certificate2 Issue(string nodeId)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={nodeId}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([Oid.FromOidValue("1.3.6.1.5.5.7.3.1", OidGroup.EnhancedKeyUsage), Oid.FromOidValue("1.3.6.1.5.5.7.3.2", OidGroup.EnhancedKeyUsage)], false));
        using var issued = request.Create(Ca.SubjectName, X509SignatureGenerator.CreateForECDsa(_caKey), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(8));
        using var withKey = issued.CopyWithPrivateKey(key);
        // Through PKCS#12 so the key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    public void Dispose()
    {
        Ca.Dispose();
        _caKey.Dispose();
    }
}

/// <summary>
/// mTLS as the Security layer will provide it: node certificate presented both ways, the peer
/// checked against the cluster CA only. Serves both the Raft transport and control streams.
/// </summary>
internal sealed class TestTls(X509Certificate2 ca, X509Certificate2 nodeCertificate) : IControlTlsOptions, IStreamSecurity
{
    private readonly SslStreamCertificateContext _context = SslStreamCertificateContext.Create(nodeCertificate, null);

    public SslServerAuthenticationOptions CreateServerOptions() => new()
    {
        ServerCertificateContext = _context,
        ClientCertificateRequired = true,
        RemoteCertificateValidationCallback = ValidatePeer,
    };

    public SslClientAuthenticationOptions CreateClientOptions(EndPoint? server) => new()
    {
        TargetHost = "nanobox",
        ClientCertificateContext = _context,
        RemoteCertificateValidationCallback = ValidatePeer,
    };

    public async Task<(Stream Stream, string PeerNodeId)> ConnectAsync(Stream transport, string? expectedNodeId, CancellationToken cancellationToken)
    {
        var tls = new SslStream(transport);
        await tls.AuthenticateAsClientAsync(CreateClientOptions(null), cancellationToken);
        return (tls, PeerId(tls, expectedNodeId));
    }

    public async Task<(Stream Stream, string PeerNodeId)> AcceptAsync(Stream transport, CancellationToken cancellationToken)
    {
        var tls = new SslStream(transport);
        await tls.AuthenticateAsServerAsync(CreateServerOptions(), cancellationToken);
        return (tls, PeerId(tls, null));
    }

    private static string PeerId(SslStream tls, string? expected)
    {
        var id = tls.RemoteCertificate is X509Certificate2 peer ? peer.GetNameInfo(X509NameType.SimpleName, false) : "";
        return expected is null || id == expected ? id : throw new AuthenticationException($"expected node {expected}, got {id}");
    }

    private bool ValidatePeer(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
            return false;
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.Add(ca);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return custom.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }
}
