using System.Security.Cryptography.X509Certificates;

namespace Nanobox.Node.Security;

/// <summary>
/// How cluster certificates name things: the root CA's subject carries the cluster id, a node
/// certificate's subject carries the node id (CN) and its cluster (OU). One place, so the CA that
/// writes the names and the validator that reads them cannot drift apart.
/// </summary>
public static class CertificateNames
{
    public const string Organization = "nanobox";

    public const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    public static X500DistinguishedName ForCa(string clusterId) => Build($"nanobox cluster {clusterId}", clusterId);

    public static X500DistinguishedName ForNode(string nodeId, string clusterId) => Build(nodeId, clusterId);

    /// <summary>The CN and OU of <paramref name="certificate"/>'s subject, or nulls when either is missing or repeated.</summary>
    public static (string? CommonName, string? ClusterId) Read(X509Certificate2 certificate)
    {
        string? commonName = null, clusterId = null;
        int commonNames = 0, clusterIds = 0;
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.HasMultipleElements)
            {
                continue;
            }

            switch (rdn.GetSingleElementType().Value)
            {
                case "2.5.4.3":
                    commonName = rdn.GetSingleElementValue();
                    commonNames++;
                    break;
                case "2.5.4.11":
                    clusterId = rdn.GetSingleElementValue();
                    clusterIds++;
                    break;
            }
        }

        return (commonNames == 1 ? commonName : null, clusterIds == 1 ? clusterId : null);
    }

    private static X500DistinguishedName Build(string commonName, string clusterId)
    {
        var builder = new X500DistinguishedNameBuilder();
        // Most specific first, as the subject reads: CN=node, OU=cluster, O=nanobox.
        builder.AddCommonName(commonName);
        builder.AddOrganizationalUnitName(clusterId);
        builder.AddOrganizationName(Organization);
        return builder.Build();
    }
}
