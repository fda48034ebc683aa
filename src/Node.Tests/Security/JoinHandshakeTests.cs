using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Nanobox.Node.Security;
using Nanobox.Node.Storage;

namespace Nanobox.Node.Tests.Security;

/// <summary>The join handshake end to end, without sockets: applicant and admission talking through JoinWire bytes.</summary>
public sealed class JoinHandshakeTests : IDisposable
{
    private readonly ClusterCertificateAuthority _ca = TestPki.NewCa("cluster-a");
    private readonly NodeCredentials _server;
    private readonly JoinToken _token;
    private readonly JoinAdmission _admission;
    private readonly string _nodeId = NodeIdentity.NewId();
    private readonly byte[] _serverNonce = JoinProof.NewNonce();

    public JoinHandshakeTests()
    {
        _server = TestPki.NewNode(_ca, "server");
        _token = JoinToken.Create(_ca.Certificate.RawData);
        _admission = new JoinAdmission(_token, _ca);
    }

    public void Dispose()
    {
        _server.Dispose();
        _ca.Dispose();
    }

    [Fact]
    public void A_joiner_with_the_token_gets_a_certificate_for_its_own_key_and_addresses()
    {
        using var applicant = Applicant(_token);
        var request = applicant.Answer(RoundTrip(_admission.Hello(_serverNonce)), _server.Certificate);

        var (issued, error) = _admission.Admit(RoundTrip(request), _server.Certificate.RawData, _serverNonce, RevocationList.Empty);

        Assert.Null(error);
        var response = new JoinResponse(issued!, _ca.Certificate.RawData, new GossipKeyRing([GossipKey.Generate()]).Serialize(), [], "cluster-a", []);
        using var credentials = applicant.Complete(RoundTrip(response));
        Assert.Equal(_nodeId, credentials.NodeId);
        Assert.True(credentials.Certificate.HasPrivateKey);
        Assert.True(new PeerCertificateValidator(_ca.Certificate, "cluster-a").Validate(credentials.Certificate, RevocationList.Empty, _nodeId).IsAccepted);
    }

    [Fact]
    public void A_token_for_another_CA_is_refused_before_anything_is_sent()
    {
        using var otherCa = TestPki.NewCa("cluster-a");
        using var applicant = Applicant(JoinToken.Create(otherCa.Certificate.RawData));

        var error = Assert.Throws<JoinFailedException>(() => applicant.Answer(_admission.Hello(_serverNonce), _server.Certificate));

        Assert.Equal(JoinFailure.CaMismatch, error.Failure);
        Assert.Contains("does not match the join token", error.Message);
    }

    [Fact]
    public void A_server_speaking_another_protocol_version_is_refused_before_anything_is_sent()
    {
        using var applicant = Applicant(_token);

        var error = Assert.Throws<JoinFailedException>(() => applicant.Answer(_admission.Hello(_serverNonce) with { Version = JoinHello.CurrentVersion + 1 }, _server.Certificate));

        Assert.Equal(JoinFailure.Protocol, error.Failure);
        Assert.Contains("same nanobox version", error.Message);
    }

    [Fact]
    public void A_server_certificate_that_is_not_from_the_announced_CA_is_refused()
    {
        using var otherCa = TestPki.NewCa("cluster-a");
        using var impostor = TestPki.NewNode(otherCa, "server");
        using var applicant = Applicant(_token);

        var error = Assert.Throws<JoinFailedException>(() => applicant.Answer(_admission.Hello(_serverNonce), impostor.Certificate));

        Assert.Equal(JoinFailure.UntrustedServer, error.Failure);
        Assert.Contains("Nothing was sent", error.Message);
    }

    [Fact]
    public void A_wrong_or_rotated_secret_is_refused_with_advice()
    {
        var rotated = JoinToken.Create(_ca.Certificate.RawData);
        using var applicant = Applicant(rotated);
        var request = applicant.Answer(_admission.Hello(_serverNonce), _server.Certificate);

        var (issued, error) = _admission.Admit(request, _server.Certificate.RawData, _serverNonce, RevocationList.Empty);

        Assert.Null(issued);
        Assert.Equal("bad-proof", error!.Code);
        Assert.Contains("nanobox cluster token", error.Message);
        var refusal = Assert.Throws<JoinFailedException>(() => applicant.Complete(error));
        Assert.Contains("bad-proof", refusal.Message);
    }

    [Fact]
    public void A_proof_made_for_another_server_certificate_or_nonce_is_refused()
    {
        using var other = TestPki.NewNode(_ca, "other-server");
        using var applicant = Applicant(_token);
        var request = applicant.Answer(_admission.Hello(_serverNonce), _server.Certificate);

        Assert.Equal("bad-proof", _admission.Admit(request, other.Certificate.RawData, _serverNonce, RevocationList.Empty).Error?.Code);
        Assert.Equal("bad-proof", _admission.Admit(request, _server.Certificate.RawData, JoinProof.NewNonce(), RevocationList.Empty).Error?.Code);
    }

    [Fact]
    public void A_request_whose_key_node_id_or_proof_was_swapped_is_refused()
    {
        using var applicant = Applicant(_token);
        var request = applicant.Answer(_admission.Hello(_serverNonce), _server.Certificate);
        var (_, otherRequest) = NodeCredentials.CreateKeyAndRequest(_nodeId);

        Assert.Equal("bad-proof", Admit(request with { CertificateRequest = otherRequest }).Error?.Code);
        Assert.Equal("bad-proof", Admit(request with { NodeId = NodeIdentity.NewId() }).Error?.Code);
        Assert.Equal("bad-proof", Admit(request with { Proof = Tamper.Flip(request.Proof, 31, 0) }).Error?.Code);
    }

    [Fact]
    public void A_removed_node_cannot_rejoin_with_its_id()
    {
        using var applicant = Applicant(_token);
        var request = applicant.Answer(_admission.Hello(_serverNonce), _server.Certificate);

        var (issued, error) = _admission.Admit(request, _server.Certificate.RawData, _serverNonce, RevocationList.Empty.WithNode(_nodeId));

        Assert.Null(issued);
        Assert.Equal("revoked", error!.Code);
    }

    [Theory]
    [InlineData("node id")]
    [InlineData("name")]
    [InlineData("no address")]
    [InlineData("bad address")]
    [InlineData("null address")]
    [InlineData("short nonce")]
    public void Malformed_requests_are_refused_as_bad_requests(string flaw)
    {
        using var applicant = Applicant(_token);
        var request = applicant.Answer(_admission.Hello(_serverNonce), _server.Certificate);
        request = flaw switch
        {
            "node id" => request with { NodeId = "NODE" },
            "name" => request with { Name = "tab\there" },
            "no address" => request with { Addresses = [] },
            "bad address" => request with { Addresses = ["10.0.0.300"] },
            "null address" => request with { Addresses = [null!] },
            _ => request with { ClientNonce = [1] },
        };

        Assert.Equal("bad-request", Admit(request).Error?.Code);
    }

    [Fact]
    public void A_certificate_request_signed_by_another_key_is_refused_even_with_a_valid_proof()
    {
        using var honest = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var forged = new CertificateRequest("CN=x", honest, HashAlgorithmName.SHA256).CreateSigningRequest(X509SignatureGenerator.CreateForECDsa(other));
        var clientNonce = JoinProof.NewNonce();
        var proof = JoinProof.Compute(_token.Secret, new JoinTranscript(_server.Certificate.RawData, _serverNonce, clientNonce, forged, _nodeId));

        var result = Admit(new JoinRequest(clientNonce, _nodeId, "web-1", ["10.0.0.7"], forged, proof));

        Assert.Equal("bad-request", result.Error?.Code);
        Assert.Contains("certificate request", result.Error!.Message);
    }

    [Fact]
    public void A_response_with_another_CA_or_a_certificate_for_another_key_is_refused()
    {
        using var applicant = Applicant(_token);
        applicant.Answer(_admission.Hello(_serverNonce), _server.Certificate);
        using var otherCa = TestPki.NewCa("cluster-a");

        Assert.Throws<JoinFailedException>(() => applicant.Complete(new JoinResponse(_server.Certificate.RawData, otherCa.Certificate.RawData, [], [], "cluster-a", [])));
        Assert.Throws<JoinFailedException>(() => applicant.Complete(new JoinResponse(_server.Certificate.RawData, _ca.Certificate.RawData, [], [], "cluster-a", [])));
        Assert.Throws<JoinFailedException>(() => applicant.Complete(new JoinResponse([1, 2, 3], _ca.Certificate.RawData, [], [], "cluster-a", [])));
        Assert.Throws<JoinFailedException>(() => applicant.Complete(_admission.Hello(_serverNonce)));
        var (issued, _) = Admit(applicant.Answer(_admission.Hello(_serverNonce), _server.Certificate));
        var otherCluster = Assert.Throws<JoinFailedException>(() => applicant.Complete(new JoinResponse(issued!, _ca.Certificate.RawData, [], [], "cluster-b", [])));
        Assert.Equal(JoinFailure.Protocol, otherCluster.Failure);
    }

    /// <summary>
    /// Fuzz: random bytes, bit flips and truncations of a valid request's JSON must end as a protocol
    /// error or a refusal, never as another exception and never as an admission.
    /// </summary>
    [Fact]
    public void Mutated_requests_are_refused_and_never_crash_the_server()
    {
        using var applicant = Applicant(_token);
        var answer = applicant.Answer(_admission.Hello(_serverNonce), _server.Certificate);
        var valid = JoinWire.Encode(answer);
        var random = new Random(20300101);
        var admitted = 0;
        for (var i = 0; i < 3000; i++)
        {
            var bytes = (i % 3) switch
            {
                0 => Tamper.Flip(valid, random.Next(valid.Length), random.Next(8)),
                1 => valid[..random.Next(valid.Length)],
                _ => Tamper.RandomBytes(random, random.Next(200)),
            };

            JoinMessage message;
            try
            {
                message = JoinWire.Decode(bytes);
            }
            catch (ProtocolException)
            {
                continue;
            }

            if (message is JoinRequest request && Admit(request).Error is null)
            {
                // Only a flip outside the proof's fields (the name, a base64 padding bit) can be admitted.
                Assert.Equal(answer.NodeId, request.NodeId);
                Assert.Equal(answer.CertificateRequest, request.CertificateRequest);
                Assert.Equal(answer.ClientNonce, request.ClientNonce);
                admitted++;
            }
        }

        Assert.True(admitted < 50, $"{admitted} mutated requests were admitted");
    }

    [Fact]
    public void Junk_fields_in_a_decoded_request_never_crash_the_server()
    {
        using var applicant = Applicant(_token);
        var valid = applicant.Answer(_admission.Hello(_serverNonce), _server.Certificate);
        var random = new Random(7);
        for (var i = 0; i < 500; i++)
        {
            var junk = Encoding.UTF8.GetString(Tamper.RandomBytes(random, random.Next(80)));
            // Name and addresses are not in the proof (TLS protects them in transit), so junk there may pass as data.
            Admit(valid with { Name = junk });
            Admit(valid with { Addresses = [junk, junk] });
            Assert.NotNull(Admit(valid with { NodeId = junk }).Error);
            Assert.NotNull(Admit(valid with { CertificateRequest = Tamper.RandomBytes(random, random.Next(300)) }).Error);
        }
    }

    private JoinApplicant Applicant(JoinToken token) => new(token, _nodeId, "web-1", [IPAddress.Parse("10.0.0.7")]);

    private (byte[]? CertificateDer, JoinError? Error) Admit(JoinRequest request) =>
        _admission.Admit(request, _server.Certificate.RawData, _serverNonce, RevocationList.Empty);

    private static T RoundTrip<T>(T message) where T : JoinMessage => Assert.IsType<T>(JoinWire.Decode(JoinWire.Encode(message)));
}
