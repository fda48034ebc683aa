using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Nanobox.Node.Security;

namespace Nanobox.Node.Tests.Security;

public sealed class PeerCertificateValidatorTests : IDisposable
{
    private readonly ManualTime _time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly ClusterCertificateAuthority _ca;
    private readonly NodeCredentials _node;
    private readonly PeerCertificateValidator _validator;

    public PeerCertificateValidatorTests()
    {
        _ca = ClusterCertificateAuthority.Create("cluster-a", _time);
        _node = TestPki.NewNode(_ca, "node1");
        _validator = new PeerCertificateValidator(_ca.Certificate, "cluster-a", _time);
    }

    public void Dispose()
    {
        _node.Dispose();
        _ca.Dispose();
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("node1", null)]
    [InlineData("node2", PeerRefusal.UnexpectedNode)]
    public void A_node_of_this_cluster_is_accepted_with_its_node_id_unless_another_was_expected(string? expected, PeerRefusal? refusal)
    {
        var result = _validator.Validate(_node.Certificate, RevocationList.Empty, expected);

        Assert.Equal(refusal, result.Refusal);
        Assert.Equal("node1", result.NodeId);
    }

    [Fact]
    public void No_certificate_is_refused() =>
        Assert.Equal(PeerRefusal.NoCertificate, _validator.Validate(null, RevocationList.Empty).Refusal);

    [Fact]
    public void A_certificate_from_another_CA_with_the_same_names_is_refused()
    {
        using var impostorCa = ClusterCertificateAuthority.Create("cluster-a", _time);
        using var impostor = TestPki.NewNode(impostorCa, "node1");

        Assert.Equal(PeerRefusal.UntrustedChain, _validator.Validate(impostor.Certificate, RevocationList.Empty).Refusal);
    }

    [Fact]
    public void A_self_signed_certificate_naming_a_node_is_refused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var selfSigned = NodeShapedRequest(key, "node1").CreateSelfSigned(_time.Now.AddDays(-1), _time.Now.AddDays(1));

        Assert.Equal(PeerRefusal.UntrustedChain, _validator.Validate(selfSigned, RevocationList.Empty).Refusal);
    }

    [Fact]
    public void A_certificate_signed_by_a_member_node_instead_of_the_CA_is_refused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var memberKey = _node.Certificate.GetECDsaPrivateKey()!;
        using var issuedByMember = NodeShapedRequest(key, "node9").Create(_node.Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(memberKey), _time.Now.AddDays(-1), _time.Now.AddDays(1), [1, 2, 3]);

        Assert.Equal(PeerRefusal.UntrustedChain, _validator.Validate(issuedByMember, RevocationList.Empty).Refusal);
    }

    [Fact]
    public void A_certificate_this_CA_issued_for_another_cluster_id_is_refused()
    {
        var validator = new PeerCertificateValidator(_ca.Certificate, "cluster-b", _time);

        Assert.Equal(PeerRefusal.WrongCluster, validator.Validate(_node.Certificate, RevocationList.Empty).Refusal);
    }

    [Fact]
    public void The_CA_certificate_itself_is_not_a_peer()
    {
        Assert.Equal(PeerRefusal.WrongUsage, _validator.Validate(_ca.Certificate, RevocationList.Empty).Refusal);
    }

    [Fact]
    public void Expiry_and_not_yet_valid_are_told_apart()
    {
        _time.Advance(TimeSpan.FromDays(31));
        Assert.Equal(PeerRefusal.Expired, _validator.Validate(_node.Certificate, RevocationList.Empty).Refusal);

        _time.Advance(TimeSpan.FromDays(-32));
        Assert.Equal(PeerRefusal.NotYetValid, _validator.Validate(_node.Certificate, RevocationList.Empty).Refusal);
    }

    [Fact]
    public void A_revoked_node_id_or_serial_is_refused_and_others_are_not()
    {
        using var other = TestPki.NewNode(_ca, "node2");
        var byNode = RevocationList.Empty.WithNode("node1");
        var bySerial = RevocationList.Empty.WithSerialNumber(_node.Certificate.SerialNumber.ToLowerInvariant());

        Assert.Equal(PeerRefusal.Revoked, _validator.Validate(_node.Certificate, byNode).Refusal);
        Assert.Equal(PeerRefusal.Revoked, _validator.Validate(_node.Certificate, bySerial).Refusal);
        Assert.True(_validator.Validate(other.Certificate, byNode).IsAccepted);
        Assert.True(_validator.Validate(other.Certificate, bySerial).IsAccepted);
    }

    [Fact]
    public void Revocation_lists_are_immutable_snapshots()
    {
        var empty = RevocationList.Empty;
        var one = empty.WithNode("a").WithSerialNumber("0A");

        Assert.Empty(empty.NodeIds);
        Assert.Equal(["a"], one.NodeIds);
        Assert.True(one.IsRevoked("b", "0a"));
        Assert.True(one.IsNodeRevoked("a"));
        Assert.False(one.IsNodeRevoked("A"));
    }

    /// <summary>Names and usages like a node certificate's, for certificates the cluster CA did not sign.</summary>
    private static CertificateRequest NodeShapedRequest(ECDsa key, string nodeId)
    {
        var request = new CertificateRequest(CertificateNames.ForNode(nodeId, "cluster-a"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(CertificateNames.ServerAuthOid), new Oid(CertificateNames.ClientAuthOid)], false));
        return request;
    }
}
