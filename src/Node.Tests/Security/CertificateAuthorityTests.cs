using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Nanobox.Node.Security;

namespace Nanobox.Node.Tests.Security;

public sealed class CertificateAuthorityTests
{
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_root_is_a_long_lived_P256_CA_that_can_sign_only_node_certificates()
    {
        using var ca = ClusterCertificateAuthority.Create("cluster-a", new ManualTime(Start));
        var root = ca.Certificate;

        Assert.Equal("CN=nanobox cluster cluster-a, OU=cluster-a, O=nanobox", root.Subject);
        Assert.Equal(root.Subject, root.Issuer);
        Assert.Equal(256, root.GetECDsaPublicKey()!.KeySize);
        var constraints = root.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(constraints.CertificateAuthority && constraints.HasPathLengthConstraint && constraints.Critical);
        Assert.Equal(0, constraints.PathLengthConstraint);
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, root.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);
        Assert.True(root.NotAfter.ToUniversalTime() - Start > TimeSpan.FromDays(3600));
        Assert.True(root.NotBefore.ToUniversalTime() < Start);
    }

    [Fact]
    public void A_node_certificate_names_the_node_and_cluster_and_lists_its_addresses()
    {
        var time = new ManualTime(Start);
        using var ca = ClusterCertificateAuthority.Create("cluster-a", time);
        var (key, request) = NodeCredentials.CreateKeyAndRequest("ignored-by-the-ca");

        using var issued = ca.Issue(request, "node1", TestPki.Addresses);

        Assert.Equal("CN=node1, OU=cluster-a, O=nanobox", issued.Subject);
        Assert.Equal(ca.Certificate.Subject, issued.Issuer);
        Assert.Equal(Start - ClusterCertificateAuthority.ClockSkewAllowance, issued.NotBefore.ToUniversalTime());
        Assert.Equal(Start + TimeSpan.FromDays(30), issued.NotAfter.ToUniversalTime());
        var names = issued.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["node1"], names.EnumerateDnsNames());
        Assert.Equal(TestPki.Addresses, names.EnumerateIPAddresses());
        var usages = issued.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value);
        Assert.Equal([CertificateNames.ServerAuthOid, CertificateNames.ClientAuthOid], usages);
        Assert.False(issued.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), issued.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.Equal(34, issued.SerialNumber.Length); // 0x01 and 128 random bits
    }

    [Fact]
    public void Serials_are_random_and_the_lifetime_is_configurable()
    {
        using var ca = TestPki.NewCa();
        var (_, request) = NodeCredentials.CreateKeyAndRequest("n");

        using var a = ca.Issue(request, "n", TestPki.Addresses, TimeSpan.FromHours(1));
        using var b = ca.Issue(request, "n", TestPki.Addresses, TimeSpan.FromHours(1));

        Assert.NotEqual(a.SerialNumber, b.SerialNumber);
        Assert.InRange(a.NotAfter - a.NotBefore, TimeSpan.FromMinutes(64), TimeSpan.FromMinutes(66));
    }

    [Fact]
    public void A_request_signed_by_another_key_is_refused()
    {
        using var ca = TestPki.NewCa();
        using var honest = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // The request names honest's public key but carries other's signature.
        var request = new CertificateRequest("CN=n", honest, HashAlgorithmName.SHA256);
        var forged = request.CreateSigningRequest(X509SignatureGenerator.CreateForECDsa(other));

        Assert.ThrowsAny<CryptographicException>(() => ca.Issue(forged, "n", TestPki.Addresses));
    }

    [Fact]
    public void A_request_for_a_key_that_is_not_P256_is_refused()
    {
        using var ca = TestPki.NewCa();
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=n", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequest();

        Assert.ThrowsAny<CryptographicException>(() => ca.Issue(request, "n", TestPki.Addresses));
    }

    [Fact]
    public void Garbage_and_trailing_bytes_after_a_request_are_refused()
    {
        using var ca = TestPki.NewCa();
        var (_, request) = NodeCredentials.CreateKeyAndRequest("n");

        Assert.ThrowsAny<CryptographicException>(() => ca.Issue([.. request, 0], "n", TestPki.Addresses));
        Assert.ThrowsAny<CryptographicException>(() => ca.Issue(request.AsSpan(0, request.Length - 1), "n", TestPki.Addresses));
    }

    [Fact]
    public void A_node_certificate_never_outlives_its_CA()
    {
        using var ca = ClusterCertificateAuthority.Create("c", lifetime: TimeSpan.FromDays(2));

        using var node = TestPki.NewNode(ca, lifetime: TimeSpan.FromDays(30));

        Assert.Equal(ca.Certificate.NotAfter, node.Certificate.NotAfter);
    }

    [Fact]
    public void The_CA_round_trips_through_PEM_and_still_issues_certificates_that_chain_to_it()
    {
        using var ca = TestPki.NewCa("cluster-b");

        using var loaded = ClusterCertificateAuthority.Load(ca.ExportCertificatePem(), ca.ExportPrivateKeyPem());
        using var node = TestPki.NewNode(loaded);

        Assert.Equal("cluster-b", loaded.ClusterId);
        Assert.Equal(ca.Certificate.RawData, loaded.Certificate.RawData);
        Assert.True(new PeerCertificateValidator(ca.Certificate, "cluster-b").Validate(node.Certificate, RevocationList.Empty).IsAccepted);
    }

    [Fact]
    public void Loading_refuses_a_mismatched_key_and_a_certificate_that_is_not_a_CA()
    {
        using var ca = TestPki.NewCa();
        using var other = TestPki.NewCa();
        using var node = TestPki.NewNode(ca);

        Assert.ThrowsAny<CryptographicException>(() => ClusterCertificateAuthority.Load(ca.ExportCertificatePem(), other.ExportPrivateKeyPem()));
        Assert.ThrowsAny<CryptographicException>(() => ClusterCertificateAuthority.Load(node.ExportCertificatePem(), node.ExportPrivateKeyPem()));
    }

    [Fact]
    public void Node_credentials_round_trip_through_PEM_and_refuse_a_certificate_for_another_key()
    {
        using var ca = TestPki.NewCa();
        using var node = TestPki.NewNode(ca, "node7");

        using var loaded = NodeCredentials.FromPem(node.ExportCertificatePem(), node.ExportPrivateKeyPem());
        Assert.Equal("node7", loaded.NodeId);
        Assert.True(loaded.Certificate.HasPrivateKey);

        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.ThrowsAny<CryptographicException>(() => NodeCredentials.FromIssued(node.Certificate.RawData, stranger));
    }

    [Fact]
    public void Renewal_falls_between_half_and_four_fifths_of_the_life_and_spreads_out()
    {
        var notBefore = Start;
        var notAfter = Start + TimeSpan.FromDays(30);
        var random = new Random(42);

        var points = Enumerable.Range(0, 1000).Select(_ => CertificateRenewal.NextRenewal(notBefore, notAfter, random)).ToList();

        Assert.All(points, p => Assert.InRange(p, Start + TimeSpan.FromDays(15), Start + TimeSpan.FromDays(24)));
        Assert.True(points.Min() < Start + TimeSpan.FromDays(16) && points.Max() > Start + TimeSpan.FromDays(23));
        Assert.Equal(notBefore, CertificateRenewal.NextRenewal(notBefore, notBefore, random));
    }
}
