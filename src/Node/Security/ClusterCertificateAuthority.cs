using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Nanobox.Node.Security;

/// <summary>
/// The cluster's root CA (ECDSA P-256): created once by `cluster init`, kept (encrypted) in the
/// replicated state so whichever node leads can sign, and used to issue node certificates.
/// </summary>
public sealed class ClusterCertificateAuthority : IDisposable
{
    public static readonly TimeSpan DefaultCaLifetime = TimeSpan.FromDays(3650);
    public static readonly TimeSpan DefaultNodeLifetime = TimeSpan.FromDays(30);

    /// <summary>Certificates start this far in the past so a peer whose clock is a little behind still accepts them.</summary>
    public static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromMinutes(5);

    private readonly TimeProvider _time;

    private ClusterCertificateAuthority(X509Certificate2 certificate, string clusterId, TimeProvider time)
    {
        Certificate = certificate;
        ClusterId = clusterId;
        _time = time;
    }

    public string ClusterId { get; }

    /// <summary>The root certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    public static ClusterCertificateAuthority Create(string clusterId, TimeProvider? time = null, TimeSpan? lifetime = null)
    {
        time ??= TimeProvider.System;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(CertificateNames.ForCa(clusterId), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var notBefore = time.GetUtcNow() - ClockSkewAllowance;
        var certificate = request.CreateSelfSigned(notBefore, notBefore + (lifetime ?? DefaultCaLifetime));
        return new ClusterCertificateAuthority(certificate, clusterId, time);
    }

    /// <summary>Loads a CA saved with <see cref="ExportCertificatePem"/> and <see cref="ExportPrivateKeyPem"/>.</summary>
    /// <exception cref="CryptographicException">The PEM is malformed, the key does not match, or the certificate is not a cluster CA.</exception>
    public static ClusterCertificateAuthority Load(string certificatePem, string privateKeyPem, TimeProvider? time = null)
    {
        var certificate = PemCertificate.LoadWithKey(certificatePem, privateKeyPem);
        var (_, clusterId) = CertificateNames.Read(certificate);
        var constraints = certificate.Extensions.OfType<X509BasicConstraintsExtension>().SingleOrDefault();
        if (clusterId is null || constraints is not { CertificateAuthority: true } || certificate.GetECDsaPublicKey() is null)
        {
            certificate.Dispose();
            throw new CryptographicException("The certificate is not a nanobox cluster CA (ECDSA, CA constraint, cluster id in OU).");
        }

        return new ClusterCertificateAuthority(certificate, clusterId, time ?? TimeProvider.System);
    }

    public string ExportCertificatePem() => Certificate.ExportCertificatePem();

    /// <summary>PKCS#8. A secret: seal it (<see cref="SecretBox"/>) before it is stored or replicated.</summary>
    public string ExportPrivateKeyPem()
    {
        using var key = Certificate.GetECDsaPrivateKey()!;
        return key.ExportPkcs8PrivateKeyPem();
    }

    /// <summary>
    /// Issues a node certificate for the key in a PKCS#10 request the joiner made. The request's
    /// signature proves the joiner holds the key; its subject and extensions are ignored, because
    /// the CA alone decides what a node certificate says.
    /// </summary>
    /// <exception cref="CryptographicException">The request is malformed, its signature is wrong, or its key is not ECDSA P-256.</exception>
    public X509Certificate2 Issue(ReadOnlySpan<byte> certificateRequestDer, string nodeId, IEnumerable<IPAddress> addresses, TimeSpan? lifetime = null)
    {
        var request = CertificateRequest.LoadSigningRequest(certificateRequestDer, HashAlgorithmName.SHA256, out var consumed);
        if (consumed != certificateRequestDer.Length)
        {
            throw new CryptographicException("The certificate request has trailing data.");
        }

        return Issue(request.PublicKey, nodeId, addresses, lifetime);
    }

    /// <summary>Issues a node certificate for <paramref name="publicKey"/> (ECDSA P-256).</summary>
    public X509Certificate2 Issue(PublicKey publicKey, string nodeId, IEnumerable<IPAddress> addresses, TimeSpan? lifetime = null)
    {
        using (var key = publicKey.GetECDsaPublicKey())
        {
            if (key is null || key.KeySize != 256)
            {
                throw new CryptographicException("Node keys must be ECDSA P-256.");
            }
        }

        var request = new CertificateRequest(CertificateNames.ForNode(nodeId, ClusterId), publicKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(CertificateNames.ServerAuthOid), new Oid(CertificateNames.ClientAuthOid)], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(publicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(nodeId);
        foreach (var address in addresses)
        {
            names.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(names.Build());

        // Within the CA's own validity: CertificateRequest.Create refuses a certificate that outlives its issuer.
        var notBefore = Max(_time.GetUtcNow() - ClockSkewAllowance, Certificate.NotBefore.ToUniversalTime());
        var notAfter = Min(_time.GetUtcNow() + (lifetime ?? DefaultNodeLifetime), Certificate.NotAfter.ToUniversalTime());
        return request.Create(Certificate, notBefore, notAfter, NewSerialNumber());
    }

    public void Dispose() => Certificate.Dispose();

    /// <summary>128 random bits behind a 0x01 byte: positive and minimally encoded, as RFC 5280 wants.</summary>
    private static byte[] NewSerialNumber()
    {
        var serial = new byte[17];
        serial[0] = 1;
        RandomNumberGenerator.Fill(serial.AsSpan(1));
        return serial;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
