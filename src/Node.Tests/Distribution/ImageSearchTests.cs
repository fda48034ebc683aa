using System.Collections.Immutable;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Runtime.Distribution;
using Nanobox.Node.Security;

namespace Nanobox.Node.Tests.Distribution;

public sealed class ImageSearchTests
{
    private static ClusterMember Member(string name) => new($"id-{name}", name, ["198.18.0.1"], MemberRole.Voter, DateTimeOffset.UnixEpoch, "198.18.0.1:7947");

    [Fact]
    public void The_message_names_the_image_and_every_place_looked()
    {
        var search = new ImageSearch("nanobox-lab/nothing:latest", null,
        [
            new PeerAnswer(Member("h2"), PeerAnswerKind.Lacks),
            new PeerAnswer(Member("h3"), PeerAnswerKind.Lacks),
            PeerAnswer.FromFailure(Member("h4"), new IOException("cannot reach h4 at 198.18.0.4:7949: Connection refused")),
        ]);

        Assert.Equal(
            "image nanobox-lab/nothing:latest is not in this node's engine, not on h2, h3 (h4 unreachable: cannot reach h4 at 198.18.0.4:7949: Connection refused), and no registry answered: timeout",
            search.Describe("no registry answered: timeout"));
    }

    [Fact]
    public void Refusals_engine_failures_and_failed_copies_are_told_apart()
    {
        var search = new ImageSearch("sha256:x", null,
        [
            PeerAnswer.FromFailure(Member("h2"), new PeerRefusedException("peer refused: certificate revoked")),
            PeerAnswer.FromFailure(Member("h3"), new Nanobox.Node.Runtime.Docker.DockerEngineException("h3: the Docker engine is not reachable")),
            new PeerAnswer(Member("h4"), PeerAnswerKind.Has, new PeerImage("sha256:x", "sha256:x")),
        ]).WithCopyFailure(Member("h4"), new EndOfStreamException("the connection to h4 closed after 10 bytes"));

        var message = search.Describe("an image id cannot be pulled from a registry");

        Assert.Equal(
            "image sha256:x is not in this node's engine, not on any other member (h2 refused this node: peer refused: certificate revoked; " +
            "h3 could not answer: the Docker engine is not reachable; h4 has it but the copy failed: the connection to h4 closed after 10 bytes), and an image id cannot be pulled from a registry",
            message);
        Assert.Empty(search.Holders);
    }

    [Fact]
    public void Standalone_and_lone_members_say_no_peer_was_there_to_ask()
    {
        Assert.Contains("this node is in no cluster, so no peer was asked", new ImageSearch("a", null, null).Describe("x"));
        Assert.Contains("there is no other member to ask", new ImageSearch("a", null, []).Describe("x"));
        Assert.Contains("not available here (the engine is down)", new ImageSearch("a", "the engine is down", []).Describe("x"));
    }

    [Fact]
    public void Holders_that_disagree_on_a_tag_are_named_with_their_pins()
    {
        var search = new ImageSearch("app:latest", null,
        [
            new PeerAnswer(Member("h2"), PeerAnswerKind.Has, new PeerImage("sha256:a", "sha256:a")),
            new PeerAnswer(Member("h3"), PeerAnswerKind.Has, new PeerImage("sha256:b", "sha256:b")),
            new PeerAnswer(Member("h4"), PeerAnswerKind.Has, new PeerImage("sha256:a", "sha256:a")),
        ]);

        Assert.Equal(2, search.PinsFound.Count);
        Assert.Equal("image app:latest names different images on different nodes (sha256:a on h2, h4; sha256:b on h3): give the pin of the one to use", search.DescribeAmbiguity());
    }
}
