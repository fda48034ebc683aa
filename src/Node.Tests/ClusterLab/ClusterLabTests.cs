using System.Text.Json;
using Nanobox.Node.Tests.Labs;

namespace Nanobox.Node.Tests.ClusterLab;

using Nanobox.Lab;

/// <summary>Four lab hosts; the tests form a cluster of three and use the fourth as a late joiner.</summary>
public sealed class FourHostLab() : LabFixture(new LabOptions { Hosts = 4 });

/// <summary>A secure, self-forming cluster, proven with the published binary in separate network namespaces.</summary>
[Trait("Category", "Lab")]
public sealed class ClusterLabTests(FourHostLab fixture) : IClassFixture<FourHostLab>
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(20);

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

        var members = await EventuallyAsync(() => AgreedMembersAsync([h1, h2, h3], expected: 3, voters: 3));
        Assert.All(members, m => Assert.Equal("alive", m.GetProperty("state").GetString()));
        var leader = Lab.Hosts.Single(h => h.Name == members.Single(m => m.GetProperty("leader").GetBoolean()).GetProperty("name").GetString());
        var status = JsonDocument.Parse((await h2.NanoboxAsync("status", "--json")).EnsureSuccess().Stdout).RootElement.GetProperty("cluster");
        Assert.Equal(clusterId, status.GetProperty("id").GetString());
        Assert.True(status.GetProperty("healthy").GetBoolean());

        // kill -9 the leader: the other two elect a new one, which signs a new node's certificate.
        await leader.Node.KillAsync();
        var survivors = new[] { h1, h2, h3 }.Where(h => h != leader).ToArray();
        await EventuallyAsync(async () =>
        {
            var rows = await MembersAsync(survivors[0]);
            var newLeader = rows.SingleOrDefault(r => r.GetProperty("leader").GetBoolean());
            return newLeader.ValueKind != JsonValueKind.Undefined && newLeader.GetProperty("name").GetString() != leader.Name ? rows : null;
        });
        (await h4.NanoboxAsync("cluster", "join", $"{survivors[0].Address}", "--token", token)).EnsureSuccess();
        await EventuallyAsync(async () => await MembersAsync(h4) is { Count: 4 } rows ? rows : null);

        // The dead leader comes back and everyone converges on four members.
        await leader.Node.StartAsync();
        await leader.Node.WaitReadyAsync();
        await EventuallyAsync(() => AgreedMembersAsync([h1, h2, h3, h4], expected: 4, voters: 3));

        // Stop every node and start them again: same cluster, same CA, same members.
        var before = await MembersAsync(h1);
        foreach (var host in new[] { h1, h2, h3, h4 })
        {
            Assert.Equal(0, (await host.Node.StopAsync()).ExitCode);
        }

        foreach (var host in new[] { h1, h2, h3, h4 })
        {
            await host.Node.StartAsync();
        }

        var after = await EventuallyAsync(() => AgreedMembersAsync([h1, h2, h3, h4], expected: 4, voters: 3));
        Assert.Equal(Ids(before), Ids(after));
        var restartedStatus = JsonDocument.Parse((await h3.NanoboxAsync("status", "--json")).EnsureSuccess().Stdout).RootElement.GetProperty("cluster");
        Assert.Equal(clusterId, restartedStatus.GetProperty("id").GetString());
        var sameToken = JsonDocument.Parse((await h4.NanoboxAsync("cluster", "token", "--json")).EnsureSuccess().Stdout).RootElement.GetProperty("token").GetString();
        Assert.Equal(token, sameToken);
    }

    private static IEnumerable<string> Ids(IReadOnlyList<JsonElement> rows) => rows.Select(r => r.GetProperty("id").GetString()!).Order();

    private static async Task<IReadOnlyList<JsonElement>> MembersAsync(LabHost host)
    {
        var result = await host.NanoboxAsync("members", "--json");
        return result.ExitCode == 0 ? JsonDocument.Parse(result.Stdout).RootElement.EnumerateArray().ToList() : [];
    }

    /// <summary>The members list when every host reports the same ids, all alive, the same leader and voter count; else null.</summary>
    private static async Task<IReadOnlyList<JsonElement>?> AgreedMembersAsync(LabHost[] hosts, int expected, int voters)
    {
        IReadOnlyList<JsonElement>? first = null;
        foreach (var host in hosts)
        {
            var rows = await MembersAsync(host);
            if (rows.Count != expected
                || rows.Any(r => r.GetProperty("state").GetString() != "alive")
                || rows.Count(r => r.GetProperty("leader").GetBoolean()) != 1
                || rows.Count(r => r.GetProperty("role").GetString() == "voter") != voters)
            {
                return null;
            }

            if (first is not null && (!Ids(first).SequenceEqual(Ids(rows)) || Leader(first) != Leader(rows)))
            {
                return null;
            }

            first ??= rows;
        }

        return first;
    }

    private static string? Leader(IReadOnlyList<JsonElement> rows) =>
        rows.Single(r => r.GetProperty("leader").GetBoolean()).GetProperty("id").GetString();

    private static async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe)
    {
        var deadline = DateTime.UtcNow + Converge;
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the cluster did not converge within {Converge.TotalSeconds} s");
            }

            await Task.Delay(250);
        }
    }
}
