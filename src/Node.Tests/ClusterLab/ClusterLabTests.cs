using System.Text.Json;
using Nanobox.Node.Tests.Labs;

namespace Nanobox.Node.Tests.ClusterLab;

using Nanobox.Lab;

/// <summary>A secure, self-forming cluster, proven with the published binary in separate network namespaces.</summary>
[Trait("Category", "Lab")]
public sealed class ClusterLabTests(FourHostLab fixture) : IClassFixture<FourHostLab>
{
    private Lab Lab => fixture.Lab;

    [Fact]
    public async Task Nodes_form_a_cluster_fail_over_and_keep_it_across_restarts()
    {
        var (h1, h2, h3, h4) = (Lab.Hosts[0], Lab.Hosts[1], Lab.Hosts[2], Lab.Hosts[3]);

        // init on h1, join h2 and h3 through it.
        var init = JsonDocument.Parse((await h1.NanoboxAsync("cluster", "init", "--json")).EnsureSuccess().Stdout).RootElement;
        var token = init.GetProperty("token").GetString()!;
        var clusterId = init.GetProperty("clusterId").GetString()!;
        Assert.StartsWith("NBX1-", token);
        Assert.Contains($"nanobox cluster join {h1.Address}:7948 --token {token}", init.GetProperty("joinCommand").GetString());
        Assert.DoesNotContain(token, h1.ReadLog());

        (await h2.NanoboxAsync("cluster", "join", $"{h1.Address}", "--token", token)).EnsureSuccess();
        (await h3.NanoboxAsync("cluster", "join", $"{h1.Address}:7948", "--token", token)).EnsureSuccess();

        var members = await ClusterProbe.ConvergeAsync([h1, h2, h3], expected: 3, voters: 3, Lab.Hosts);
        Assert.All(members, m => Assert.True(m.IsAlive));
        var leader = ClusterProbe.LeaderHost(Lab.Hosts, members);
        var status = (await ClusterProbe.ClusterStatusAsync(h2))!.Value;
        Assert.Equal(clusterId, status.GetProperty("id").GetString());
        Assert.True(status.GetProperty("healthy").GetBoolean());

        // kill -9 the leader: the other two elect a new one, which signs a new node's certificate.
        await leader.Node.KillAsync();
        var survivors = new[] { h1, h2, h3 }.Where(h => h != leader).ToArray();
        await ClusterProbe.EventuallyAsync(async () =>
        {
            var rows = await ClusterProbe.MembersAsync(survivors[0]);
            var newLeader = rows.SingleOrDefault(r => r.Leader);
            return newLeader is not null && newLeader.Name != leader.Name ? rows : null;
        });
        (await ClusterProbe.JoinAsync(h4, survivors[0], token)).EnsureSuccess();
        await ClusterProbe.EventuallyAsync(async () => await ClusterProbe.MembersAsync(h4) is { Count: 4 } rows ? rows : null);

        // The dead leader comes back and everyone converges on four members.
        await leader.Node.StartAsync();
        await leader.Node.WaitReadyAsync();
        await ClusterProbe.ConvergeAsync([h1, h2, h3, h4], expected: 4, voters: 3, Lab.Hosts);

        // Stop every node and start them again: same cluster, same CA, same members.
        var before = await ClusterProbe.MembersAsync(h1);
        foreach (var host in new[] { h1, h2, h3, h4 })
        {
            Assert.Equal(0, (await host.Node.StopAsync()).ExitCode);
        }

        foreach (var host in new[] { h1, h2, h3, h4 })
        {
            await host.Node.StartAsync();
        }

        var after = await ClusterProbe.ConvergeAsync([h1, h2, h3, h4], expected: 4, voters: 3, Lab.Hosts);
        Assert.Equal(ClusterProbe.Ids(before), ClusterProbe.Ids(after));
        var restartedStatus = (await ClusterProbe.ClusterStatusAsync(h3))!.Value;
        Assert.Equal(clusterId, restartedStatus.GetProperty("id").GetString());
        Assert.Equal(token, await ClusterProbe.TokenAsync(h4));
    }
}

/// <summary>Joins that must fail do so with a clear error and leave the node standalone.</summary>
[Trait("Category", "Lab")]
public sealed class ClusterJoinErrorLabTests(ThreeHostLab fixture) : IClassFixture<ThreeHostLab>
{
    [Fact]
    public async Task Bad_joins_fail_clearly_and_leave_nothing_behind()
    {
        var (h1, h2) = (fixture.Lab.Hosts[0], fixture.Lab.Hosts[1]);
        var token = await ClusterProbe.FormAsync(h1);
        var parts = token.Split('-');
        var wrongSecret = $"{parts[0]}-{parts[1]}-{new string('a', parts[2].Length)}";
        var wrongDigest = $"{parts[0]}-{new string('a', parts[1].Length)}-{parts[2]}";

        await AssertJoinFailsAsync(h2, h1.Address.ToString(), wrongSecret, "wrong or has been rotated");
        await AssertJoinFailsAsync(h2, h1.Address.ToString(), wrongDigest, "does not match the join token's digest");
        await AssertJoinFailsAsync(h2, "198.18.0.99", token, "No connection");
        await AssertJoinFailsAsync(h2, h1.Address.ToString(), "NBX1-nonsense", "not valid");

        (await ClusterProbe.JoinAsync(h2, h1, token)).EnsureSuccess();
        await AssertJoinFailsAsync(h2, h1.Address.ToString(), token, "already in cluster");
        await AssertJoinFailsAsync(h1, h2.Address.ToString(), token, "already in cluster");
    }

    private static async Task AssertJoinFailsAsync(LabHost host, string address, string token, string expected)
    {
        var statusBefore = await ClusterProbe.ClusterStatusAsync(host);

        var result = await host.NanoboxAsync("cluster", "join", address, "--token", token);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(expected, result.Stderr);
        Assert.DoesNotContain(token.Split('-').Last(), result.Stderr + host.ReadLog());
        var statusAfter = await ClusterProbe.ClusterStatusAsync(host);
        Assert.Equal(statusBefore?.GetProperty("id").GetString(), statusAfter?.GetProperty("id").GetString());
    }
}

/// <summary>A leader cut off from the others: the minority refuses writes, the majority goes on, and they converge after healing.</summary>
[Trait("Category", "Lab")]
public sealed class ClusterPartitionLabTests(ThreeHostLab fixture) : IClassFixture<ThreeHostLab>
{
    [Fact]
    public async Task The_minority_refuses_writes_while_the_majority_goes_on_then_they_converge()
    {
        var hosts = fixture.Lab.Hosts.ToArray();
        await ClusterProbe.FormAsync(hosts[0], hosts[1], hosts[2]);
        var leader = ClusterProbe.LeaderHost(hosts, await ClusterProbe.MembersAsync(hosts[0]));
        var majority = hosts.Where(h => h != leader).ToArray();

        await fixture.Lab.IsolateAsync(leader);

        var refused = await leader.NanoboxAsync("cluster", "token", "--rotate");
        Assert.Equal(1, refused.ExitCode);
        Assert.True(refused.Stderr.Contains("majority"), refused.ToString());
        (await leader.NanoboxAsync("members")).EnsureSuccess();

        var rotated = ClusterProbe.TokenOf((await ClusterProbe.RotateTokenAsync(majority[0])).EnsureSuccess());

        await fixture.Lab.RejoinAsync(leader);
        await ClusterProbe.ConvergeAsync(hosts, expected: 3, voters: 3);
        await ClusterProbe.EventuallyAsync(async () => await ClusterProbe.TokenAsync(leader) is var seen && seen == rotated ? seen : null);
    }
}

/// <summary>`cluster remove`: the member is revoked everywhere and refused from then on.</summary>
[Trait("Category", "Lab")]
public sealed class ClusterRemoveLabTests(FourHostLab fixture) : IClassFixture<FourHostLab>
{
    [Fact]
    public async Task A_removed_member_is_revoked_everywhere_and_refused()
    {
        var hosts = fixture.Lab.Hosts.ToArray();
        var (h1, h2, h3, h4) = (hosts[0], hosts[1], hosts[2], hosts[3]);
        await ClusterProbe.FormAsync(h1, h2, h3, h4);

        // A non-voter, removed through a member that need not be the leader.
        var removed = await h2.NanoboxAsync("cluster", "remove", h4.Name);
        Assert.True(removed.ExitCode == 0, removed.ToString());
        await ClusterProbe.ConvergeAsync([h1, h2, h3], expected: 3, voters: 3, hosts);

        // Its certificate is refused at once: a write it sends to the leader is turned away.
        var refused = await h4.NanoboxAsync("cluster", "token", "--rotate");
        Assert.Equal(1, refused.ExitCode);

        // A voter: it leaves the Raft configuration first, then the member list.
        Assert.True((await h1.NanoboxAsync("cluster", "remove", h3.Name)).ExitCode == 0);
        await ClusterProbe.ConvergeAsync([h1, h2], expected: 2, voters: 2, hosts);
        (await h2.NanoboxAsync("cluster", "token", "--rotate")).EnsureSuccess();

        var self = await h1.NanoboxAsync("cluster", "remove", h1.Name);
        Assert.Equal(1, self.ExitCode);
        Assert.Contains("cannot remove itself", self.Stderr);
    }
}
