using Nanobox.Node.Tests.Labs;

namespace Nanobox.Node.Tests.ClusterLab;

using Nanobox.Lab;

/// <summary>Five voters survive a kill -9 of their leader: the other four elect one, commit, and take the old leader back.</summary>
[Trait("Category", "Lab")]
public sealed class FiveNodeClusterLabTests(FiveHostLab fixture) : IClassFixture<FiveHostLab>
{
    [Fact]
    public async Task Five_voters_fail_over_commit_a_write_and_converge_when_the_old_leader_returns()
    {
        var hosts = fixture.Lab.Hosts.ToArray();
        var token = await ClusterProbe.FormAsync(hosts, CancellationToken.None);

        var members = await ClusterProbe.ConvergeAsync(hosts, expected: 5, voters: 5);
        Assert.All(members, m => Assert.True(m.IsVoter && m.IsAlive, $"{m.Name} is {m.Role}, {m.State}"));
        var oldLeader = ClusterProbe.LeaderHost(hosts, members);
        var oldLeaderId = ClusterProbe.Leader(members);

        await oldLeader.Node.KillAsync();
        var survivors = hosts.Where(h => h != oldLeader).ToArray();
        await ClusterProbe.EventuallyAsync(() => AgreedNewLeaderAsync(survivors, oldLeaderId), hosts);
        var rotated = await ClusterProbe.CommitWriteAsync(survivors[0]);
        Assert.NotEqual(token, rotated);

        await oldLeader.Node.StartAsync();
        await oldLeader.Node.WaitReadyAsync();
        var after = await ClusterProbe.ConvergeAsync(hosts, expected: 5, voters: 5);
        Assert.Equal(ClusterProbe.Ids(members), ClusterProbe.Ids(after));
        await ClusterProbe.EventuallyAsync(async () => await ClusterProbe.TokenAsync(oldLeader) is var seen && seen == rotated ? seen : null, hosts);
    }

    /// <summary>The leader's id when every survivor names the same one and it is not <paramref name="oldLeaderId"/>; else null.</summary>
    private static async Task<string?> AgreedNewLeaderAsync(LabHost[] survivors, string? oldLeaderId)
    {
        var leaders = await Task.WhenAll(survivors.Select(async h => ClusterProbe.Leader(await ClusterProbe.MembersAsync(h))));
        return leaders.Distinct().Count() == 1 && leaders[0] is { } leader && leader != oldLeaderId ? leader : null;
    }
}
