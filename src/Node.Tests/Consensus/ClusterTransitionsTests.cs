using System.Text.Json;
using Nanobox.Node.Cluster;
using Nanobox.Node.Cluster.Consensus;

namespace Nanobox.Node.Tests.Consensus;

public sealed class ClusterTransitionsTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    internal static readonly string Digest = new('a', 64);

    internal static ClusterMember Member(string id, MemberRole role = MemberRole.Member) =>
        new(id, $"host-{id}", ["10.0.0.1"], role, T0, $"10.0.0.1:{ClusterPorts.Control}");

    internal static BootstrapCommand Bootstrap(string firstId = "n1") =>
        new("c1", new CertificateAuthority("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n", [1, 2, 3], "seal-1"), Member(firstId), Digest);

    private static ClusterState Bootstrapped() => ClusterTransitions.Apply(ClusterState.Empty, Bootstrap());

    private static void Refused(ClusterState state, ClusterCommand command, string because)
    {
        var e = Assert.Throws<ClusterCommandRejectedException>(() => ClusterTransitions.Apply(state, command));
        Assert.Contains(because, e.Message);
    }

    [Fact]
    public void Bootstrap_creates_the_cluster_with_its_first_member_as_voter()
    {
        var state = Bootstrapped();
        Assert.Equal("c1", state.ClusterId);
        Assert.Equal(1, state.Version);
        Assert.Equal("seal-1", state.Ca!.KeyId);
        Assert.Equal(Digest, state.JoinSecretDigest);
        Assert.Equal(MemberRole.Voter, Assert.Single(state.Members).Value.Role);
    }

    [Fact]
    public void Bootstrap_is_accepted_once_and_everything_else_only_after_it()
    {
        Refused(Bootstrapped(), Bootstrap(), "already bootstrapped");
        Refused(ClusterState.Empty, new AddMemberCommand(Member("n2")), "not bootstrapped");
        Refused(ClusterState.Empty, new RotateJoinSecretDigestCommand(Digest), "not bootstrapped");
    }

    [Fact]
    public void Bootstrap_validates_its_inputs()
    {
        Refused(ClusterState.Empty, Bootstrap() with { ClusterId = "bad id!" }, "cluster id");
        Refused(ClusterState.Empty, Bootstrap() with { Ca = Bootstrap().Ca with { CertificatePem = "nope" } }, "PEM");
        Refused(ClusterState.Empty, Bootstrap() with { Ca = Bootstrap().Ca with { SealedKey = [] } }, "sealed CA key");
        Refused(ClusterState.Empty, Bootstrap() with { JoinSecretDigest = "ABC" }, "digest");
        Refused(ClusterState.Empty, Bootstrap() with { FirstMember = Member("n1") with { RaftEndpoint = "" } }, "Raft endpoint");
    }

    [Fact]
    public void Members_join_as_non_voters_with_unique_ids_and_names()
    {
        var state = ClusterTransitions.Apply(Bootstrapped(), new AddMemberCommand(Member("n2")));
        Assert.Equal(MemberRole.Member, state.Members["n2"].Role);
        Assert.Equal(2, state.Version);
        Refused(state, new AddMemberCommand(Member("n2")), "already a member");
        Refused(state, new AddMemberCommand(Member("n3") with { Name = "host-n2" }), "name host-n2 is taken");
        Refused(state, new AddMemberCommand(Member("n3", MemberRole.Voter)), "joins as a member");
        Refused(state, new AddMemberCommand(Member("n3") with { Addresses = [""] }), "addresses");
    }

    [Fact]
    public void Update_member_changes_given_fields_only()
    {
        var state = ClusterTransitions.Apply(Bootstrapped(), new AddMemberCommand(Member("n2")));
        var updated = ClusterTransitions.Apply(state, new UpdateMemberCommand("n2", "renamed", null, "10.0.0.9:7947"));
        Assert.Equal("renamed", updated.Members["n2"].Name);
        Assert.Equal("10.0.0.9:7947", updated.Members["n2"].RaftEndpoint);
        Assert.Equal(state.Members["n2"].Addresses, updated.Members["n2"].Addresses);
        Refused(state, new UpdateMemberCommand("nx", "a", null, null), "not a member");
        Refused(state, new UpdateMemberCommand("n2", "host-n1", null, null), "taken");
    }

    [Fact]
    public void Removing_a_member_revokes_it_for_good_and_voters_must_be_demoted_first()
    {
        var state = ClusterTransitions.Apply(Bootstrapped(), new AddMemberCommand(Member("n2")));
        Refused(state, new RemoveMemberCommand("n1", ["01"], T0, null), "is a voter");
        Refused(state, new RemoveMemberCommand("nx", ["01"], T0, null), "not a member");

        var removed = ClusterTransitions.Apply(state, new RemoveMemberCommand("n2", ["0a", "0b"], T0, "decommissioned"));
        Assert.False(removed.Members.ContainsKey("n2"));
        Assert.Equal(new[] { "0a", "0b" }, removed.Revocations["n2"].CertificateSerials.ToArray());
        Assert.Equal("decommissioned", removed.Revocations["n2"].Reason);
        Refused(removed, new AddMemberCommand(Member("n2")), "never admitted again");
    }

    [Fact]
    public void Set_voters_assigns_roles_among_members()
    {
        var state = Bootstrapped();
        foreach (var id in new[] { "n2", "n3" })
            state = ClusterTransitions.Apply(state, new AddMemberCommand(Member(id)));

        var next = ClusterTransitions.Apply(state, new SetVotersCommand(["n2", "n3"]));
        Assert.Equal(["n2", "n3"], next.Voters.Select(static m => m.NodeId));
        Assert.Equal(MemberRole.Member, next.Members["n1"].Role);
        Refused(state, new SetVotersCommand([]), "at least one voter");
        Refused(state, new SetVotersCommand(["n1", "nx"]), "voter nx is not a member");
        Refused(state, new SetVotersCommand(["n1", "n1"]), "distinct");
    }

    [Fact]
    public void Sections_are_put_and_deleted_with_optional_compare_and_set()
    {
        using var v1 = JsonDocument.Parse("""{"rules":[1]}""");
        using var v2 = JsonDocument.Parse("""{"rules":[2]}""");
        var state = ClusterTransitions.Apply(Bootstrapped(), new PutSectionCommand("firewall", v1.RootElement, ExpectedRevision: 0));
        Assert.Equal(1, state.Sections["firewall"].Revision);

        Refused(state, new PutSectionCommand("firewall", v2.RootElement, ExpectedRevision: 0), "at revision 1, not 0");
        state = ClusterTransitions.Apply(state, new PutSectionCommand("firewall", v2.RootElement, ExpectedRevision: 1));
        Assert.Equal(2, state.Sections["firewall"].Revision);
        Assert.Equal("""{"rules":[2]}""", state.Sections["firewall"].Value.GetRawText());
        state = ClusterTransitions.Apply(state, new PutSectionCommand("firewall", v1.RootElement, ExpectedRevision: null));
        Assert.Equal(3, state.Sections["firewall"].Revision);

        Refused(state, new DeleteSectionCommand("firewall", 2), "at revision 3, not 2");
        Refused(state, new DeleteSectionCommand("apps", null), "no section apps");
        Refused(state, new PutSectionCommand("Bad Name", v1.RootElement, null), "section name");
        Assert.Empty(ClusterTransitions.Apply(state, new DeleteSectionCommand("firewall", 3)).Sections);
    }

    [Fact]
    public void The_join_secret_digest_rotates_to_a_valid_sha256_hex()
    {
        var rotated = ClusterTransitions.Apply(Bootstrapped(), new RotateJoinSecretDigestCommand(new string('b', 64)));
        Assert.Equal(new string('b', 64), rotated.JoinSecretDigest);
        Refused(rotated, new RotateJoinSecretDigestCommand("secret"), "64 lowercase hex");
    }

    [Fact]
    public void A_refused_command_leaves_the_state_untouched_and_replicas_agree()
    {
        using var doc = JsonDocument.Parse("""{"x":1}""");
        ClusterCommand[] log =
        [
            Bootstrap(),
            new AddMemberCommand(Member("n2")),
            new AddMemberCommand(Member("n2")), // refused on every replica alike
            new SetVotersCommand(["n1", "n2"]),
            new PutSectionCommand("apps", doc.RootElement, null),
            new RemoveMemberCommand("n2", ["01"], T0, null), // refused: still a voter
        ];

        string Replay()
        {
            var state = ClusterState.Empty;
            foreach (var command in log)
            {
                // A round trip through the log's encoding, as a follower would see the entry.
                var decoded = ConsensusCodec.DecodeCommand(ConsensusCodec.EncodeCommand(command));
                try
                {
                    state = ClusterTransitions.Apply(state, decoded);
                }
                catch (ClusterCommandRejectedException)
                {
                    // kept as it was
                }
            }

            return JsonSerializer.Serialize(state, ConsensusJsonContext.Default.ClusterState);
        }

        var first = Replay();
        Assert.Equal(first, Replay());
        var final = ConsensusCodec.DecodeState(System.Text.Encoding.UTF8.GetBytes(first));
        Assert.Equal(4, final.Version);
        Assert.Equal(2, final.Members.Count);
    }
}

public sealed class ConsensusCodecTests
{
    [Fact]
    public void Commands_carry_a_type_discriminator_and_a_schema()
    {
        var json = System.Text.Encoding.UTF8.GetString(ConsensusCodec.EncodeCommand(new RotateJoinSecretDigestCommand(ClusterTransitionsTests.Digest)));
        Assert.Contains("\"schema\":1", json);
        Assert.Contains("\"type\":\"rotate-join-secret-digest\"", json);
        var decoded = Assert.IsType<RotateJoinSecretDigestCommand>(ConsensusCodec.DecodeCommand(System.Text.Encoding.UTF8.GetBytes(json)));
        Assert.Equal(ClusterTransitionsTests.Digest, decoded.Digest);
    }

    [Fact]
    public void Entries_and_snapshots_of_a_newer_schema_or_garbage_are_refused()
    {
        var newer = """{"schema":2,"command":{"type":"rotate-join-secret-digest","digest":"x"}}"""u8.ToArray();
        Assert.Contains("upgrade", Assert.Throws<InvalidDataException>(() => ConsensusCodec.DecodeCommand(newer)).Message);
        Assert.Throws<InvalidDataException>(() => ConsensusCodec.DecodeCommand("""{"schema":1,"command":{"type":"format-disk"}}"""u8));
        Assert.Throws<InvalidDataException>(() => ConsensusCodec.DecodeState("""{"schema":9}"""u8));
        Assert.Throws<InvalidDataException>(() => ConsensusCodec.DecodeState("not json"u8));
    }

    [Fact]
    public void The_state_round_trips_through_its_snapshot_encoding()
    {
        var state = ClusterTransitions.Apply(ClusterState.Empty, ClusterTransitionsTests.Bootstrap());
        state = ClusterTransitions.Apply(state, new AddMemberCommand(ClusterTransitionsTests.Member("n2")));
        var bytes = ConsensusCodec.EncodeState(state);
        var back = ConsensusCodec.DecodeState(bytes);
        Assert.Equal(System.Text.Encoding.UTF8.GetString(bytes), System.Text.Encoding.UTF8.GetString(ConsensusCodec.EncodeState(back)));
        Assert.Equal(state.Members["n2"], back.Members["n2"] with { Addresses = state.Members["n2"].Addresses });
        Assert.Equal(new[] { "10.0.0.1" }, back.Members["n2"].Addresses.ToArray());
    }
}
