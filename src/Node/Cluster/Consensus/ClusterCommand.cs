using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Nanobox.Node.Cluster.Consensus;

/// <summary>
/// A change to <see cref="ClusterState"/>, written to the Raft log as JSON with a "type"
/// discriminator. Commands carry every value the change needs (timestamps included): applying one
/// must not read the replica's clock or anything else that differs between replicas.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization)]
[JsonDerivedType(typeof(BootstrapCommand), "bootstrap")]
[JsonDerivedType(typeof(AddMemberCommand), "add-member")]
[JsonDerivedType(typeof(UpdateMemberCommand), "update-member")]
[JsonDerivedType(typeof(RemoveMemberCommand), "remove-member")]
[JsonDerivedType(typeof(SetVotersCommand), "set-voters")]
[JsonDerivedType(typeof(PutSectionCommand), "put-section")]
[JsonDerivedType(typeof(DeleteSectionCommand), "delete-section")]
[JsonDerivedType(typeof(RotateJoinSecretDigestCommand), "rotate-join-secret-digest")]
public abstract record ClusterCommand;

/// <summary>Creates the cluster: its id, CA and first member (a voter). Accepted once.</summary>
public sealed record BootstrapCommand(string ClusterId, CertificateAuthority Ca, ClusterMember FirstMember, string JoinSecretDigest) : ClusterCommand;

/// <summary>Admits a node; it starts as a non-voting member (voters are chosen by <see cref="VoterPlanner"/>).</summary>
public sealed record AddMemberCommand(ClusterMember Member) : ClusterCommand;

/// <summary>Changes a member's name, addresses or Raft endpoint; null leaves a field as it is. Roles change only through <see cref="SetVotersCommand"/>.</summary>
public sealed record UpdateMemberCommand(string NodeId, string? Name, ImmutableArray<string>? Addresses, string? RaftEndpoint) : ClusterCommand;

/// <summary>Removes a non-voting member and revokes its certificates. A voter must be demoted first.</summary>
public sealed record RemoveMemberCommand(string NodeId, ImmutableArray<string> CertificateSerials, DateTimeOffset RemovedAt, string? Reason) : ClusterCommand;

/// <summary>Records which members are Raft voters, after the Raft configuration change itself committed.</summary>
public sealed record SetVotersCommand(ImmutableArray<string> VoterIds) : ClusterCommand;

/// <summary>Creates or replaces a named section; with <paramref name="ExpectedRevision"/> only if the section is still at that revision (0: must not exist).</summary>
public sealed record PutSectionCommand(string Name, JsonElement Value, long? ExpectedRevision) : ClusterCommand;

public sealed record DeleteSectionCommand(string Name, long? ExpectedRevision) : ClusterCommand;

/// <summary>Replaces the join secret's digest: tokens carrying the old secret stop admitting nodes.</summary>
public sealed record RotateJoinSecretDigestCommand(string Digest) : ClusterCommand;

/// <summary>
/// What the log holds: a command and the schema it was written with. A replica that meets a newer
/// schema stops applying rather than guess (so it cannot diverge); upgrade every voter before
/// proposing commands of a new schema.
/// </summary>
public sealed record CommandEnvelope(int Schema, ClusterCommand Command)
{
    public const int CurrentSchema = 1;
}
