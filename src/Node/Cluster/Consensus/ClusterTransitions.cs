using System.Collections.Immutable;
using System.Text.RegularExpressions;

namespace Nanobox.Node.Cluster.Consensus;

/// <summary>
/// The one function that changes <see cref="ClusterState"/>: pure and deterministic, so every
/// replica that applies the same log holds the same document.
/// </summary>
public static partial class ClusterTransitions
{
    /// <returns>The new state, its <see cref="ClusterState.Version"/> one higher.</returns>
    /// <exception cref="ClusterCommandRejectedException">The command is invalid against <paramref name="state"/>.</exception>
    public static ClusterState Apply(ClusterState state, ClusterCommand command)
    {
        if (state.IsBootstrapped == command is BootstrapCommand)
            throw new ClusterCommandRejectedException(state.IsBootstrapped ? "the cluster is already bootstrapped" : "the cluster is not bootstrapped yet");

        var next = command switch
        {
            BootstrapCommand c => Bootstrap(c),
            AddMemberCommand c => AddMember(state, c.Member),
            UpdateMemberCommand c => UpdateMember(state, c),
            RemoveMemberCommand c => RemoveMember(state, c),
            SetVotersCommand c => SetVoters(state, c.VoterIds),
            PutSectionCommand c => PutSection(state, c),
            DeleteSectionCommand c => DeleteSection(state, c),
            RotateJoinSecretDigestCommand c => state with { JoinSecretDigest = RequireDigest(c.Digest) },
            _ => throw new ClusterCommandRejectedException($"unknown command {command.GetType().Name}"),
        };
        return next with { Version = state.Version + 1 };
    }

    private static ClusterState Bootstrap(BootstrapCommand c)
    {
        Require(IsId(c.ClusterId), "the cluster id must be 1-64 characters of [A-Za-z0-9._-]");
        Require(c.Ca.CertificatePem.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal), "the CA certificate must be PEM");
        Require(c.Ca.SealedKey.Length > 0 && c.Ca.KeyId.Length > 0, "the sealed CA key and its key id are required");
        ValidateMember(c.FirstMember);
        var first = c.FirstMember with { Role = MemberRole.Voter };
        return ClusterState.Empty with
        {
            ClusterId = c.ClusterId,
            Ca = c.Ca,
            JoinSecretDigest = RequireDigest(c.JoinSecretDigest),
            Members = ClusterState.Empty.Members.Add(first.NodeId, first),
        };
    }

    private static ClusterState AddMember(ClusterState state, ClusterMember member)
    {
        ValidateMember(member);
        Require(!state.Members.ContainsKey(member.NodeId), $"node {member.NodeId} is already a member");
        Require(!state.Revocations.ContainsKey(member.NodeId), $"node {member.NodeId} was removed; removed node ids are never admitted again");
        Require(state.Members.Values.All(m => m.Name != member.Name), $"the name {member.Name} is taken");
        Require(member.Role == MemberRole.Member, "a node joins as a member; voters are set by set-voters after the Raft configuration changes");
        return state with { Members = state.Members.Add(member.NodeId, member) };
    }

    private static ClusterState UpdateMember(ClusterState state, UpdateMemberCommand c)
    {
        var current = GetMember(state, c.NodeId);
        var updated = current with
        {
            Name = c.Name ?? current.Name,
            Addresses = c.Addresses ?? current.Addresses,
            RaftEndpoint = c.RaftEndpoint ?? current.RaftEndpoint,
        };
        ValidateMember(updated);
        Require(state.Members.Values.All(m => m.NodeId == c.NodeId || m.Name != updated.Name), $"the name {updated.Name} is taken");
        return state with { Members = state.Members.SetItem(c.NodeId, updated) };
    }

    private static ClusterState RemoveMember(ClusterState state, RemoveMemberCommand c)
    {
        var member = GetMember(state, c.NodeId);
        Require(member.Role != MemberRole.Voter, $"node {c.NodeId} is a voter; remove it from the Raft configuration and set-voters first");
        Require(c.CertificateSerials.All(static s => s.Length > 0), "certificate serials must not be empty");
        var revocation = new Revocation(c.NodeId, c.CertificateSerials, c.RemovedAt, c.Reason);
        return state with
        {
            Members = state.Members.Remove(c.NodeId),
            Revocations = state.Revocations.SetItem(c.NodeId, revocation),
        };
    }

    private static ClusterState SetVoters(ClusterState state, ImmutableArray<string> voterIds)
    {
        Require(!voterIds.IsDefaultOrEmpty, "a cluster needs at least one voter");
        Require(voterIds.Distinct(StringComparer.Ordinal).Count() == voterIds.Length, "voter ids must be distinct");
        foreach (var id in voterIds)
            Require(state.Members.ContainsKey(id), $"voter {id} is not a member");

        var voters = voterIds.ToHashSet(StringComparer.Ordinal);
        var members = state.Members;
        foreach (var member in state.Members.Values)
        {
            var role = voters.Contains(member.NodeId) ? MemberRole.Voter : MemberRole.Member;
            if (role != member.Role)
                members = members.SetItem(member.NodeId, member with { Role = role });
        }

        return state with { Members = members };
    }

    private static ClusterState PutSection(ClusterState state, PutSectionCommand c)
    {
        Require(IsSectionName(c.Name), "a section name is 1-64 characters of [a-z0-9.-], starting with a letter");
        var revision = state.Sections.TryGetValue(c.Name, out var current) ? current.Revision : 0;
        RequireRevision(c.Name, c.ExpectedRevision, revision);
        // Clone detaches the value from the command's JsonDocument, so the state owns what it holds.
        return state with { Sections = state.Sections.SetItem(c.Name, new ClusterSection(c.Value.Clone(), revision + 1)) };
    }

    private static ClusterState DeleteSection(ClusterState state, DeleteSectionCommand c)
    {
        Require(state.Sections.TryGetValue(c.Name, out var current), $"there is no section {c.Name}");
        RequireRevision(c.Name, c.ExpectedRevision, current!.Revision);
        return state with { Sections = state.Sections.Remove(c.Name) };
    }

    private static void RequireRevision(string name, long? expected, long actual) =>
        Require(expected is null || expected == actual, $"section {name} is at revision {actual}, not {expected}");

    private static ClusterMember GetMember(ClusterState state, string nodeId) =>
        state.Members.TryGetValue(nodeId, out var member) ? member : throw new ClusterCommandRejectedException($"node {nodeId} is not a member");

    private static void ValidateMember(ClusterMember member)
    {
        Require(IsId(member.NodeId), "a node id is 1-64 characters of [A-Za-z0-9._-]");
        Require(member.Name.Length is > 0 and <= 253, "a member name is 1-253 characters");
        Require(!member.Addresses.IsDefault && member.Addresses.All(static a => a.Length > 0), "member addresses must not be empty strings");
        Require(member.RaftEndpoint.Length > 0, "a member needs its Raft endpoint");
    }

    private static string RequireDigest(string digest)
    {
        Require(HexDigest().IsMatch(digest), "a join secret digest is 64 lowercase hex characters (SHA-256)");
        return digest;
    }

    private static void Require(bool condition, string reason)
    {
        if (!condition)
            throw new ClusterCommandRejectedException(reason);
    }

    private static bool IsId(string value) => IdPattern().IsMatch(value);

    private static bool IsSectionName(string value) => SectionNamePattern().IsMatch(value);

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[a-z][a-z0-9.-]{0,63}$")]
    private static partial Regex SectionNamePattern();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex HexDigest();
}
