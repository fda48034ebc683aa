using System.Security.Cryptography;
using Nanobox.Node.Security;

namespace Nanobox.Node.Tests.Security;

public sealed class JoinProofTests
{
    private static readonly byte[] Secret = RandomNumberGenerator.GetBytes(JoinToken.SecretBytes);

    private static readonly JoinTranscript Transcript = new(
        RandomNumberGenerator.GetBytes(300), JoinProof.NewNonce(), JoinProof.NewNonce(), RandomNumberGenerator.GetBytes(200), "node1");

    [Fact]
    public void A_proof_verifies_against_the_same_transcript_and_secret()
    {
        var proof = JoinProof.Compute(Secret, Transcript);

        Assert.Equal(JoinProof.Length, proof.Length);
        Assert.True(JoinProof.Verify(Secret, Transcript, proof));
    }

    public static TheoryData<string> Fields => ["server certificate", "server nonce", "client nonce", "certificate request", "node id", "secret", "proof"];

    [Theory]
    [MemberData(nameof(Fields))]
    public void Changing_any_bound_field_the_secret_or_the_proof_fails_verification(string field)
    {
        var proof = JoinProof.Compute(Secret, Transcript);
        var secret = Secret;
        var transcript = Transcript;
        switch (field)
        {
            case "server certificate": transcript = transcript with { ServerCertificateDer = Tamper.Flip(transcript.ServerCertificateDer) }; break;
            case "server nonce": transcript = transcript with { ServerNonce = Tamper.Flip(transcript.ServerNonce) }; break;
            case "client nonce": transcript = transcript with { ClientNonce = Tamper.Flip(transcript.ClientNonce) }; break;
            case "certificate request": transcript = transcript with { CertificateRequestDer = Tamper.Flip(transcript.CertificateRequestDer) }; break;
            case "node id": transcript = transcript with { NodeId = "node2" }; break;
            case "secret": secret = Tamper.Flip(secret); break;
            case "proof": proof = Tamper.Flip(proof); break;
        }

        Assert.False(JoinProof.Verify(secret, transcript, proof));
    }

    [Fact]
    public void Moving_bytes_between_adjacent_fields_changes_the_proof()
    {
        var joined = Transcript with { ServerNonce = [1, 2], ClientNonce = [3] };
        var shifted = Transcript with { ServerNonce = [1], ClientNonce = [2, 3] };

        Assert.NotEqual(JoinProof.Compute(Secret, joined), JoinProof.Compute(Secret, shifted));
    }

    [Fact]
    public void A_proof_of_the_wrong_length_is_refused() =>
        Assert.False(JoinProof.Verify(Secret, Transcript, JoinProof.Compute(Secret, Transcript)[..16]));
}
