using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Nanobox.Node.Security;

/// <summary>Loads a certificate with its PKCS#8 key from PEM, failing one way for every kind of bad input.</summary>
internal static class PemCertificate
{
    /// <exception cref="CryptographicException">No certificate or key in the PEM, or the key does not match.</exception>
    public static X509Certificate2 LoadWithKey(string certificatePem, string privateKeyPem)
    {
        try
        {
            return X509Certificate2.CreateFromPem(certificatePem, privateKeyPem);
        }
        catch (ArgumentException error)
        {
            // CreateFromPem reports a missing PEM block or a key for another certificate this way.
            throw new CryptographicException($"Cannot load the certificate and key: {error.Message}", error);
        }
    }
}
