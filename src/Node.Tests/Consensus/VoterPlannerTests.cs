using Nanobox.Node.Cluster.Consensus;

namespace Nanobox.Node.Tests.Consensus;

public sealed class VoterPlannerTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly VoterPlannerOptions Options = new() { VoterReplaceAfter = TimeSpan.FromMinutes(5) };

    /// <summary>Members n1..nN joined in order; the ones listed in <paramref name="downFor"/> are down for that long.</summary>
    private static List<MemberHealth> Members(int count, params (string Id, TimeSpan For)[] downFor) =>
        Enumerable.Range(1, count).Select(i =>
        {
            var id = $"n{i}";
            var down = downFor.Where(d => d.Id == id).Select(d => (TimeSpan?)d.For).FirstOrDefault();
            return new MemberHealth(id, Now.AddHours(-100 + i), down is null, down is { } d ? Now - d : null);
        }).ToList();

    private static VoterChange Plan(List<MemberHealth> members, params string[] voters) =>
        VoterPlanner.Plan(members, voters.ToHashSet(), Now, Options);

    [Fact]
    public void The_first_three_members_become_voters_one_at_a_time_in_join_order()
    {
        Assert.Equal(new VoterChange.AddVoter("n2"), Plan(Members(4), "n1"));
        Assert.Equal(new VoterChange.AddVoter("n3"), Plan(Members(4), "n1", "n2"));
        Assert.IsType<VoterChange.None>(Plan(Members(4), "n1", "n2", "n3"));
        Assert.IsType<VoterChange.None>(Plan(Members(1), "n1"));
    }

    [Fact]
    public void Five_voters_once_five_members_are_healthy()
    {
        Assert.Equal(new VoterChange.AddVoter("n4"), Plan(Members(5), "n1", "n2", "n3"));
        Assert.Equal(new VoterChange.AddVoter("n5"), Plan(Members(7), "n1", "n2", "n3", "n4"));
        Assert.IsType<VoterChange.None>(Plan(Members(7), "n1", "n2", "n3", "n4", "n5"));
        // Five members but one down: stay at three.
        Assert.IsType<VoterChange.None>(Plan(Members(5, ("n5", TimeSpan.FromSeconds(1))), "n1", "n2", "n3"));
    }

    [Fact]
    public void A_voter_down_briefly_keeps_its_seat()
    {
        var members = Members(4, ("n2", TimeSpan.FromMinutes(4)));
        Assert.Equal("the voters match the policy", Assert.IsType<VoterChange.None>(Plan(members, "n1", "n2", "n3")).Reason);
    }

    [Fact]
    public void A_voter_down_too_long_is_replaced_add_first_then_remove()
    {
        var members = Members(4, ("n2", TimeSpan.FromMinutes(6)));
        Assert.Equal(new VoterChange.AddVoter("n4"), Plan(members, "n1", "n2", "n3"));
        Assert.Equal(new VoterChange.RemoveVoter("n2"), Plan(members, "n1", "n2", "n3", "n4"));
        Assert.IsType<VoterChange.None>(Plan(members, "n1", "n3", "n4"));
    }

    [Fact]
    public void A_dead_voter_without_a_replacement_stays_until_one_appears()
    {
        var members = Members(3, ("n3", TimeSpan.FromHours(1)));
        Assert.Contains("no healthy member", Assert.IsType<VoterChange.None>(Plan(members, "n1", "n2", "n3")).Reason);
    }

    [Fact]
    public void Five_voters_shrink_to_three_when_two_are_gone_for_good()
    {
        var members = Members(5, ("n4", TimeSpan.FromHours(2)), ("n5", TimeSpan.FromHours(1)));
        Assert.Equal(new VoterChange.RemoveVoter("n4"), Plan(members, "n1", "n2", "n3", "n4", "n5"));
        Assert.Equal(new VoterChange.RemoveVoter("n5"), Plan(members, "n1", "n2", "n3", "n5"));
        Assert.IsType<VoterChange.None>(Plan(members, "n1", "n2", "n3"));
    }

    [Fact]
    public void Nothing_changes_without_a_quorum_of_healthy_voters()
    {
        var members = Members(5, ("n2", TimeSpan.FromHours(1)), ("n3", TimeSpan.FromHours(1)));
        Assert.Contains("without a quorum", Assert.IsType<VoterChange.None>(Plan(members, "n1", "n2", "n3")).Reason);
    }

    [Fact]
    public void A_voter_that_is_no_longer_a_member_is_removed()
    {
        Assert.Equal(new VoterChange.RemoveVoter("gone"), Plan(Members(3), "n1", "n2", "n3", "gone"));
    }

    [Fact]
    public void Replace_after_must_outlast_a_blip()
    {
        Assert.Throws<ArgumentException>(() => new VoterPlannerOptions { VoterReplaceAfter = TimeSpan.FromSeconds(1) }.Validate());
    }
}
