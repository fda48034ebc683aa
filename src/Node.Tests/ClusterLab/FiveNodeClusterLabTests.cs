using Nanobox.Node.Tests.Labs;

namespace Nanobox.Node.Tests.ClusterLab;

using Nanobox.Lab;

/// <summary>
/// Five voters survive a kill -9 of their leader: the other four elect one, which commits a write and
/// signs a new node's certificate, and they take the old leader back.
/// </summary>
[Trait("Category", "Lab")]
public sealed class FiveNodeClusterLabTests(SixHostLab fixture) : IClassFixture<SixHostLab>
{
    [Fact]
    public async Task Five_voters_fail_over_commit_a_write_sign_a_new_node_and_converge_when_the_old_leader_returns()
    {
        var hosts = fixture.Lab.Hosts.Take(5).ToArray();
        var newcomer = fixture.Lab.Hosts[5];
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

        // The new leader signs a new node's certificate (the join goes through any survivor).
        (await ClusterProbe.JoinAsync(newcomer, survivors[0], rotated)).EnsureSuccess();
        await ClusterProbe.EventuallyAsync(async () => (await ClusterProbe.MembersAsync(newcomer)).Count == 6 ? "joined" : null, hosts);

        await oldLeader.Node.StartAsync();
        await oldLeader.Node.WaitReadyAsync();
        var everyone = fixture.Lab.Hosts.ToArray();
        var after = await ClusterProbe.ConvergeAsync(everyone, expected: 6, voters: 5);
        Assert.Equal(ClusterProbe.Ids(members).Append(after.Single(m => m.Name == newcomer.Name).Id).Order(), ClusterProbe.Ids(after));
        await ClusterProbe.EventuallyAsync(async () => await ClusterProbe.TokenAsync(oldLeader) is var seen && seen == rotated ? seen : null, hosts);
    }

    /// <summary>The leader's id when every survivor names the same one and it is not <paramref name="oldLeaderId"/>; else null.</summary>
    private static async Task<string?> AgreedNewLeaderAsync(LabHost[] survivors, string? oldLeaderId)
    {
        var leaders = await Task.WhenAll(survivors.Select(async h => ClusterProbe.Leader(await ClusterProbe.MembersAsync(h))));
        return leaders.Distinct().Count() == 1 && leaders[0] is { } leader && leader != oldLeaderId ? leader : null;
    }
}
