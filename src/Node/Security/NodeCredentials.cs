using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Nanobox.Node.Security;

/// <summary>This node's certificate from the cluster CA, with its private key.</summary>
public sealed class NodeCredentials : IDisposable
{
    private NodeCredentials(X509Certificate2 certificate)
    {
        Certificate = certificate;
        NodeId = CertificateNames.Read(certificate).CommonName
            ?? throw new CryptographicException("The certificate's subject names no node (one CN).");
    }

    /// <summary>The node certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    public string NodeId { get; }

    /// <summary>
    /// A fresh key and a PKCS#10 request signed with it, for joining or renewing: only the public
    /// key and the proof of holding it leave the node, never the private key.
    /// </summary>
    public static (ECDsa Key, byte[] CertificateRequest) CreateKeyAndRequest(string nodeId)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={nodeId}"), key, HashAlgorithmName.SHA256);
        return (key, request.CreateSigningRequest());
    }

    /// <summary>Pairs the certificate the CA issued with the key it was requested for.</summary>
    /// <exception cref="CryptographicException">The certificate is malformed or is not for this key.</exception>
    public static NodeCredentials FromIssued(ReadOnlySpan<byte> certificateDer, ECDsa key)
    {
        using var issued = X509CertificateLoader.LoadCertificate(certificateDer);
        using var publicKey = issued.GetECDsaPublicKey();
        if (publicKey is null || !publicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
        {
            throw new CryptographicException("The issued certificate is not for this node's key.");
        }

        return new NodeCredentials(issued.CopyWithPrivateKey(key));
    }

    /// <exception cref="CryptographicException">The PEM is malformed or the key does not match the certificate.</exception>
    public static NodeCredentials FromPem(string certificatePem, string privateKeyPem) =>
        new(PemCertificate.LoadWithKey(certificatePem, privateKeyPem));

    public string ExportCertificatePem() => Certificate.ExportCertificatePem();

    /// <summary>PKCS#8. A secret: written only to the node's own data directory, never logged.</summary>
    public string ExportPrivateKeyPem()
    {
        using var key = Certificate.GetECDsaPrivateKey()!;
        return key.ExportPkcs8PrivateKeyPem();
    }

    public void Dispose() => Certificate.Dispose();
}
