using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Nanobox.Node.Cluster.Consensus;

/// <summary>
/// The cluster's control data as Raft replicates it: one immutable document, replaced whole by every
/// accepted command (<see cref="ClusterTransitions.Apply"/>). Every replica that applies the same
/// commands holds an equal document, so any voter that becomes leader can carry on, CA key included.
/// </summary>
public sealed record ClusterState
{
    /// <summary>The document's schema; snapshots written by a newer schema are refused, not misread.</summary>
    public const int CurrentSchema = 1;

    public static ClusterState Empty { get; } = new();

    public int Schema { get; init; } = CurrentSchema;

    /// <summary>How many commands were accepted into this document: a cheap "is mine newer" check for followers and non-voters.</summary>
    public long Version { get; init; }

    /// <summary>Null until the Bootstrap command; every other command is refused before it.</summary>
    public string? ClusterId { get; init; }

    public CertificateAuthority? Ca { get; init; }

    /// <summary>Hex digest of the current join secret (never the secret itself): admission compares against it.</summary>
    public string? JoinSecretDigest { get; init; }

    /// <summary>Members by node id; ordered so serialised snapshots are byte-identical across replicas.</summary>
    public ImmutableSortedDictionary<string, ClusterMember> Members { get; init; } = ImmutableSortedDictionary<string, ClusterMember>.Empty.WithComparers(StringComparer.Ordinal);

    /// <summary>Removed nodes by node id. Kept for good: a removed node id is never admitted again.</summary>
    public ImmutableSortedDictionary<string, Revocation> Revocations { get; init; } = ImmutableSortedDictionary<string, Revocation>.Empty.WithComparers(StringComparer.Ordinal);

    /// <summary>
    /// Named documents owned by later features (firewall policy, overlay leases, apps). They live
    /// here so adding one needs a section name, not a schema change of this record.
    /// </summary>
    public ImmutableSortedDictionary<string, ClusterSection> Sections { get; init; } = ImmutableSortedDictionary<string, ClusterSection>.Empty.WithComparers(StringComparer.Ordinal);

    [JsonIgnore]
    public bool IsBootstrapped => ClusterId is not null;

    [JsonIgnore]
    public IEnumerable<ClusterMember> Voters => Members.Values.Where(static m => m.Role == MemberRole.Voter);
}

/// <summary>The cluster CA. The private key is sealed by Security before it reaches Raft; this layer stores the blob as is.</summary>
/// <param name="CertificatePem">The CA certificate, PEM.</param>
/// <param name="SealedKey">The CA private key encrypted at rest (opaque to consensus).</param>
/// <param name="KeyId">Which sealing key encrypted <paramref name="SealedKey"/>, so Security can rotate sealing keys.</param>
public sealed record CertificateAuthority(string CertificatePem, byte[] SealedKey, string KeyId);

public enum MemberRole
{
    /// <summary>Follows the state without a vote (not in the Raft configuration).</summary>
    Member,

    /// <summary>In the Raft configuration: votes and may lead.</summary>
    Voter,
}

/// <param name="NodeId">Stable id from the node's store; the node certificate's identity.</param>
/// <param name="Name">Human name, unique in the cluster.</param>
/// <param name="Addresses">Underlay addresses peers may use.</param>
/// <param name="JoinedAt">Set by the proposer (never the applying replica's clock), so every replica agrees.</param>
/// <param name="RaftEndpoint">host:port of the node's Raft (control) listener.</param>
public sealed record ClusterMember(
    string NodeId,
    string Name,
    ImmutableArray<string> Addresses,
    MemberRole Role,
    DateTimeOffset JoinedAt,
    string RaftEndpoint);

/// <param name="CertificateSerials">Serials of the node's certificates, refused by mTLS from now on.</param>
public sealed record Revocation(string NodeId, ImmutableArray<string> CertificateSerials, DateTimeOffset RevokedAt, string? Reason);

/// <summary>A later feature's document. <paramref name="Revision"/> enables compare-and-set updates.</summary>
public sealed record ClusterSection(JsonElement Value, long Revision);
