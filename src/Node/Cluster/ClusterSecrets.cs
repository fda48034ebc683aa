using System.Text.Json;
using System.Text.Json.Serialization;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Security;

namespace Nanobox.Node.Cluster;

/// <summary>
/// Secrets the replicated state carries sealed with the cluster's state key (every member holds it in
/// its own store): the CA private key, so any new leader signs with the same CA, and the join secret,
/// so any member can print the current token. The Raft log and snapshots never hold them in clear.
/// </summary>
public static class ClusterSecrets
{
    public const string JoinSection = "join";
    public const string GossipKeysSection = "gossip-keys";

    private const string CaKeyPurpose = "nanobox ca private key v1";
    private const string JoinSecretPurpose = "nanobox join secret v1";
    private const string GossipKeysPurpose = "nanobox gossip key ring v1";

    public static byte[] SealCaKey(byte[] stateKey, string caKeyPem) =>
        SecretBox.Seal(stateKey, System.Text.Encoding.UTF8.GetBytes(caKeyPem), CaKeyPurpose);

    public static ClusterCertificateAuthority OpenCa(byte[] stateKey, CertificateAuthority ca)
    {
        var pem = SecretBox.Open(stateKey, ca.SealedKey, CaKeyPurpose)
            ?? throw new InvalidOperationException("The CA key in the cluster state cannot be opened with this node's state key: the node's store does not belong to this cluster.");
        return ClusterCertificateAuthority.Load(ca.CertificatePem, System.Text.Encoding.UTF8.GetString(pem));
    }

    public static PutSectionCommand PutJoinSecret(byte[] stateKey, JoinToken token, long? expectedRevision) =>
        new(JoinSection, JsonSerializer.SerializeToElement(
            new JoinSecretSection(SecretBox.Seal(stateKey, token.Secret, JoinSecretPurpose)),
            ClusterSecretsJsonContext.Default.JoinSecretSection), expectedRevision);

    /// <summary>The current join token, or null before the cluster has stored one.</summary>
    public static JoinToken? CurrentToken(byte[] stateKey, ClusterState state)
    {
        if (state.Ca is null || !state.Sections.TryGetValue(JoinSection, out var section))
        {
            return null;
        }

        var sealedSecret = section.Value.Deserialize(ClusterSecretsJsonContext.Default.JoinSecretSection)?.SealedSecret;
        var secret = sealedSecret is null ? null : SecretBox.Open(stateKey, sealedSecret, JoinSecretPurpose);
        if (secret is null)
        {
            return null;
        }

        using var caCertificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(state.Ca.CertificatePem);
        return JoinToken.FromSecret(caCertificate.RawData, secret);
    }

    /// <summary>What the state records of the join secret: enough to tell tokens apart, nothing to admit with.</summary>
    /// <summary>The gossip key ring every member should hold, primary first.</summary>
    public static PutSectionCommand PutGossipKeys(byte[] stateKey, GossipKeyRing ring, long? expectedRevision) =>
        new(GossipKeysSection, JsonSerializer.SerializeToElement(
            new SealedSection(SecretBox.Seal(stateKey, ring.Serialize(), GossipKeysPurpose)),
            ClusterSecretsJsonContext.Default.SealedSection), expectedRevision);

    /// <summary>The ring the state asks for and its revision, or null before any rotation.</summary>
    public static (GossipKeyRing Ring, long Revision)? GossipKeys(byte[] stateKey, ClusterState state)
    {
        if (!state.Sections.TryGetValue(GossipKeysSection, out var section))
        {
            return null;
        }

        var sealedRing = section.Value.Deserialize(ClusterSecretsJsonContext.Default.SealedSection)?.Sealed;
        var ring = sealedRing is null ? null : SecretBox.Open(stateKey, sealedRing, GossipKeysPurpose);
        return ring is null ? null : (GossipKeyRing.Deserialize(ring), section.Revision);
    }

    public static string Digest(JoinToken token) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(token.Secret));
}

public sealed record JoinSecretSection(byte[] SealedSecret);

public sealed record SealedSection(byte[] Sealed);

[JsonSerializable(typeof(JoinSecretSection))]
[JsonSerializable(typeof(SealedSection))]
internal sealed partial class ClusterSecretsJsonContext : JsonSerializerContext;
