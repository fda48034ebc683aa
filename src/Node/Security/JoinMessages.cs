using System.Text.Json;
using System.Text.Json.Serialization;

namespace Nanobox.Node.Security;

/// <summary>
/// The join handshake, after TLS: server <see cref="JoinHello"/>, joiner <see cref="JoinRequest"/>,
/// server <see cref="JoinResponse"/> or <see cref="JoinError"/>. Byte arrays travel as base64.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(JoinHello), "hello")]
[JsonDerivedType(typeof(JoinRequest), "request")]
[JsonDerivedType(typeof(JoinResponse), "response")]
[JsonDerivedType(typeof(JoinError), "error")]
public abstract record JoinMessage;

/// <summary>The server's nonce and the CA the joiner compares with its token's digest before it sends anything.</summary>
/// <param name="Version">The join protocol the server speaks; the joiner refuses any other before it sends anything.</param>
/// <param name="CaProof"><see cref="JoinProof.ProveCa"/>, for joiners whose token pins no CA digest (self-forming clusters).</param>
public sealed record JoinHello(int Version, byte[] ServerNonce, byte[] CaCertificate, byte[]? CaProof = null) : JoinMessage
{
    public const int CurrentVersion = 1;
}

/// <param name="CertificateRequest">PKCS#10, signed by the joiner's new key.</param>
/// <param name="Proof">See <see cref="JoinProof"/>.</param>
public sealed record JoinRequest(
    byte[] ClientNonce,
    string NodeId,
    string Name,
    IReadOnlyList<string> Addresses,
    byte[] CertificateRequest,
    byte[] Proof) : JoinMessage;

/// <param name="GossipKeys">A serialized <see cref="GossipKeyRing"/>.</param>
/// <param name="ClusterId">The cluster's id, as in the CA's subject.</param>
/// <param name="ClusterSecrets">Opaque to the handshake: what the cluster layer hands a new member (the state key, ...); may be empty.</param>
public sealed record JoinResponse(
    byte[] NodeCertificate,
    byte[] CaCertificate,
    byte[] GossipKeys,
    IReadOnlyList<JoinedMember> Members,
    string ClusterId,
    byte[] ClusterSecrets) : JoinMessage;

public sealed record JoinedMember(string Id, string Name, string Address);

/// <summary>A refusal: a stable code for programs, a message a person can act on.</summary>
/// <param name="Leader">With code "not-leader": the leader's join address, where the joiner asks again.</param>
public sealed record JoinError(string Code, string Message, string? Leader = null) : JoinMessage
{
    public const string NotLeaderCode = "not-leader";

    /// <summary>Only the leader signs certificates: a member that is not the leader sends the joiner on to it.</summary>
    public static JoinError NotLeader(string leaderJoinAddress) => new(NotLeaderCode,
        $"This member is not the cluster's leader; the leader at {leaderJoinAddress} admits joins.", leaderJoinAddress);

    public static JoinError BadProof() => new("bad-proof",
        "The join token is wrong or has been rotated. Get the current one with `nanobox cluster token` on a member.");

    public static JoinError Revoked(string nodeId) => new("revoked",
        $"Node {nodeId} was removed from the cluster and cannot rejoin with that id. Delete this node's data directory so it starts as a new node, then join again.");

    public static JoinError Unavailable() => new("unavailable",
        "The cluster cannot admit nodes right now (no leader reachable, or it is shutting down). Try again in a minute.");

    public static JoinError BadRequest(string detail) => new("bad-request",
        $"The join request was refused: {detail}. Check that both nodes run the same nanobox version.");
}

// Strict: a missing or null field is a protocol error, not a null the handshake trips over later.
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(JoinMessage))]
internal sealed partial class JoinJsonContext : JsonSerializerContext;
