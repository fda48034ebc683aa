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
        PutSealed(JoinSection, stateKey, token.Secret, JoinSecretPurpose, expectedRevision);

    /// <summary>The current join token, or null before the cluster has stored one.</summary>
    public static JoinToken? CurrentToken(byte[] stateKey, ClusterState state)
    {
        if (state.Ca is null || OpenSealed(JoinSection, stateKey, state, JoinSecretPurpose) is not { } secret)
        {
            return null;
        }

        using var caCertificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(state.Ca.CertificatePem);
        return JoinToken.FromSecret(caCertificate.RawData, secret.Bytes);
    }

    /// <summary>The gossip key ring every member should hold, primary first.</summary>
    public static PutSectionCommand PutGossipKeys(byte[] stateKey, GossipKeyRing ring, long? expectedRevision) =>
        PutSealed(GossipKeysSection, stateKey, ring.Serialize(), GossipKeysPurpose, expectedRevision);

    /// <summary>The ring the state asks for and its revision, or null before any rotation.</summary>
    public static (GossipKeyRing Ring, long Revision)? GossipKeys(byte[] stateKey, ClusterState state) =>
        OpenSealed(GossipKeysSection, stateKey, state, GossipKeysPurpose) is { } ring ? (GossipKeyRing.Deserialize(ring.Bytes), ring.Revision) : null;

    private static PutSectionCommand PutSealed(string section, byte[] stateKey, ReadOnlySpan<byte> plaintext, string purpose, long? expectedRevision) =>
        new(section, JsonSerializer.SerializeToElement(new SealedSection(SecretBox.Seal(stateKey, plaintext, purpose)), ClusterSecretsJsonContext.Default.SealedSection), expectedRevision);

    private static (byte[] Bytes, long Revision)? OpenSealed(string name, byte[] stateKey, ClusterState state, string purpose)
    {
        if (!state.Sections.TryGetValue(name, out var section)
            || section.Value.Deserialize(ClusterSecretsJsonContext.Default.SealedSection)?.Sealed is not { } sealedBytes
            || SecretBox.Open(stateKey, sealedBytes, purpose) is not { } plaintext)
        {
            return null;
        }

        return (plaintext, section.Revision);
    }

    /// <summary>What the state records of the join secret: enough to tell tokens apart, nothing to admit with.</summary>
    public static string Digest(JoinToken token) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(token.Secret));
}

public sealed record SealedSection(byte[] Sealed);

[JsonSerializable(typeof(SealedSection))]
internal sealed partial class ClusterSecretsJsonContext : JsonSerializerContext;
