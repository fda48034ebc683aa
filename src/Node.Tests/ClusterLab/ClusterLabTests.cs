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

        // The majority first notices the silence and elects a leader of its own; a write then commits.
        var rotated = await ClusterProbe.CommitWriteAsync(majority[0]);

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

        // Nor can it come back with its identity: forget its membership but keep its node id, and join again.
        await h4.Node.StopAsync();
        using (var store = Nanobox.Node.Storage.LiteDbNodeStore.Open(h4.DataDir))
        {
            Assert.True(Nanobox.Node.Cluster.LocalCluster.Delete(store));
        }

        Directory.Delete(Path.Combine(h4.DataDir, "raft"), recursive: true);
        await h4.Node.StartAsync();
        await h4.Node.WaitReadyAsync();
        var rejoin = await h4.NanoboxAsync("cluster", "join", h1.Address.ToString(), "--token", await ClusterProbe.TokenAsync(h1));
        Assert.Equal(1, rejoin.ExitCode);
        Assert.Contains("was removed from the cluster and cannot rejoin", rejoin.Stderr);
        Assert.Null(await ClusterProbe.ClusterStatusAsync(h4));

        // A voter: it leaves the Raft configuration first, then the member list.
        Assert.True((await h1.NanoboxAsync("cluster", "remove", h3.Name)).ExitCode == 0);
        await ClusterProbe.ConvergeAsync([h1, h2], expected: 2, voters: 2, hosts);
        (await h2.NanoboxAsync("cluster", "token", "--rotate")).EnsureSuccess();

        var self = await h1.NanoboxAsync("cluster", "remove", h1.Name);
        Assert.Equal(1, self.ExitCode);
        Assert.Contains("cannot remove itself", self.Stderr);
    }
}

/// <summary>Node certificates renew themselves before they expire, through the leader, without breaking the cluster.</summary>
[Trait("Category", "Lab")]
public sealed class ClusterRenewalLabTests(ThreeHostLab fixture) : IClassFixture<ThreeHostLab>
{
    [Fact]
    public async Task Certificates_are_renewed_at_50_to_80_percent_of_their_life()
    {
        var hosts = fixture.Lab.Hosts.ToArray();
        await ClusterProbe.RestartAllAsync(hosts, new Dictionary<string, string> { ["NANOBOX_CERTIFICATE_LIFETIME"] = "20s" });

        await ClusterProbe.FormAsync(hosts[0], hosts[1], hosts[2]);
        var first = new Dictionary<string, DateTimeOffset>();
        foreach (var host in hosts)
        {
            first[host.Name] = (await ClusterProbe.ClusterStatusAsync(host))!.Value.GetProperty("certificateExpires").GetDateTimeOffset();
        }

        // Renewal falls between 10 s and 16 s after issue; each renewed certificate expires later than the first.
        await ClusterProbe.EventuallyAsync(async () =>
        {
            foreach (var host in hosts)
            {
                var expires = (await ClusterProbe.ClusterStatusAsync(host))?.GetProperty("certificateExpires").GetDateTimeOffset();
                if (expires is null || expires <= first[host.Name])
                {
                    return null;
                }
            }

            return first;
        }, hosts);

        // The first certificates have expired by now: everything still works on the renewed ones.
        await Task.Delay(first.Values.Max() - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1) is { Ticks: > 0 } wait ? wait : TimeSpan.Zero);
        await ClusterProbe.EventuallyAsync(() => ClusterProbe.AgreedMembersAsync(hosts, expected: 3, voters: 3), hosts);
        // Certificates keep renewing every 10-16 s and each renewal restarts a runtime: a write may need a retry.
        await ClusterProbe.EventuallyAsync(async () => await hosts[1].NanoboxAsync("cluster", "token", "--rotate") is { ExitCode: 0 } done ? done : null, hosts);
        Assert.DoesNotContain("The cluster runtime did not restart", string.Concat(hosts.Select(h => h.ReadLog())));
    }
}

/// <summary>Nodes started together with a shared secret form exactly one cluster by themselves, every time.</summary>
[Trait("Category", "Lab")]
public sealed class ClusterFormationLabTests(ThreeHostLab fixture) : IClassFixture<ThreeHostLab>
{
    private const int Rounds = 20;

    [Fact]
    public async Task Nodes_with_a_shared_secret_form_exactly_one_cluster_whatever_order_they_start_in()
    {
        var hosts = fixture.Lab.Hosts.ToArray();
        var random = new Random(20261122);
        for (var round = 0; round < Rounds; round++)
        {
            await Task.WhenAll(hosts.Select(h => h.Node.StopAsync()));
            var secret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
            foreach (var host in hosts)
            {
                Directory.Delete(host.DataDir, recursive: true);
                await File.WriteAllTextAsync(host.ConfigPath,
                    $"{host.BaseConfig}\n[cluster]\nsecret = \"{secret}\"\nbootstrap_expect = 3\njoin = [{string.Join(", ", hosts.Select(h => $"\"{h.Address}\""))}]\n");
            }

            // All at once, in a different order each round, a few milliseconds apart.
            await Task.WhenAll(hosts.OrderBy(_ => random.Next()).Select(async (host, i) =>
            {
                await Task.Delay(random.Next(0, 50) * i);
                await host.Node.StartAsync();
            }));

            var members = await ClusterProbe.EventuallyAsync(() => ClusterProbe.AgreedMembersAsync(hosts, expected: 3, voters: 3), hosts);
            var clusters = new HashSet<string>();
            var tokens = new HashSet<string>();
            foreach (var host in hosts)
            {
                clusters.Add((await ClusterProbe.ClusterStatusAsync(host))!.Value.GetProperty("id").GetString()!);
                tokens.Add(JsonDocument.Parse((await host.NanoboxAsync("cluster", "token", "--json")).EnsureSuccess().Stdout).RootElement.GetProperty("token").GetString()!);
            }

            Assert.True(clusters.Count == 1, $"round {round}: {clusters.Count} clusters formed");
            Assert.True(tokens.Count == 1, $"round {round}: {tokens.Count} different CAs or secrets");
            Assert.Equal(3, members.Count);
        }
    }
}

/// <summary>The gossip key is replaced on every member without any member losing sight of another.</summary>
[Trait("Category", "Lab")]
public sealed class ClusterKeyRotationLabTests(ThreeHostLab fixture) : IClassFixture<ThreeHostLab>
{
    [Fact]
    public async Task The_gossip_key_rotates_without_downtime()
    {
        var hosts = fixture.Lab.Hosts.ToArray();
        await ClusterProbe.FormAsync(hosts[0], hosts[1], hosts[2]);
        var before = await KeysAsync(hosts);
        Assert.Single(before);

        using var watching = new CancellationTokenSource();
        var lost = new List<string>();
        var watcher = Task.Run(async () =>
        {
            while (!watching.IsCancellationRequested)
            {
                foreach (var host in hosts)
                {
                    lost.AddRange((await ClusterProbe.MembersAsync(host))
                        .Where(m => m.State is "dead" or "left")
                        .Select(m => $"{host.Name} saw {m.Name} {m.State}"));
                }

                await Task.Delay(100);
            }
        });

        var rotated = await hosts[1].NanoboxAsync("cluster", "rotate-key", "--json");
        await Task.Delay(TimeSpan.FromSeconds(3));
        await watching.CancelAsync();
        await watcher;

        Assert.True(rotated.ExitCode == 0, rotated.ToString());
        var after = await KeysAsync(hosts);
        Assert.Single(after);
        Assert.NotEqual(before.Single(), after.Single());
        Assert.Empty(lost);
    }

    private static async Task<HashSet<string>> KeysAsync(IEnumerable<LabHost> hosts)
    {
        var keys = new HashSet<string>();
        foreach (var host in hosts)
        {
            keys.Add((await ClusterProbe.ClusterStatusAsync(host))!.Value.GetProperty("gossipKey").GetString()!);
        }

        return keys;
    }
}

/// <summary>A voter dead longer than `cluster.voter_replace_after` is replaced by a healthy member.</summary>
[Trait("Category", "Lab")]
public sealed class ClusterVoterReplacementLabTests(FourHostLab fixture) : IClassFixture<FourHostLab>
{
    [Fact]
    public async Task A_dead_voter_is_replaced_by_a_healthy_member_and_comes_back_as_a_member()
    {
        var hosts = fixture.Lab.Hosts.ToArray();
        var quick = new Dictionary<string, string> { ["NANOBOX_VOTER_REPLACE_AFTER"] = "10s" };
        await ClusterProbe.RestartAllAsync(hosts, quick);

        await ClusterProbe.FormAsync(hosts[0], hosts[1], hosts[2], hosts[3]);
        var rows = await ClusterProbe.MembersAsync(hosts[0]);
        var spare = hosts.Single(h => rows.Single(r => r.Name == h.Name).Role == "member");
        var victim = hosts.First(h => h != spare && !rows.Single(r => r.Name == h.Name).Leader);
        var survivors = hosts.Where(h => h != victim).ToArray();

        await victim.Node.KillAsync();

        await ClusterProbe.EventuallyAsync(async () =>
        {
            foreach (var host in survivors)
            {
                var seen = await ClusterProbe.MembersAsync(host);
                if (seen.Count != 4 || seen.Single(r => r.Name == victim.Name).IsVoter || !seen.Single(r => r.Name == spare.Name).IsVoter
                    || seen.Count(r => r.IsVoter) != 3)
                {
                    return null;
                }
            }

            return survivors;
        }, hosts, timeout: TimeSpan.FromSeconds(40));

        await victim.Node.StartAsync(env: quick);
        await victim.Node.WaitReadyAsync();
        var back = await ClusterProbe.EventuallyAsync(() => ClusterProbe.AgreedMembersAsync(hosts, expected: 4, voters: 3), hosts);
        Assert.False(back.Single(r => r.Name == victim.Name).IsVoter);
    }
}

/// <summary>Junk sent to a member's gossip port is dropped and counted, and the member carries on.</summary>
[Trait("Category", "Lab")]
public sealed class ClusterHostileDatagramLabTests(ThreeHostLab fixture) : IClassFixture<ThreeHostLab>
{
    [Fact]
    public async Task Truncated_forged_and_garbage_datagrams_are_dropped_counted_and_harmless()
    {
        var hosts = fixture.Lab.Hosts.ToArray();
        await ClusterProbe.FormAsync(hosts[0], hosts[1], hosts[2]);
        var target = hosts[1];
        var before = await DroppedAsync(target);

        // From another lab host: a 3-byte datagram (truncated), one shaped like a sealed datagram but
        // authenticated by nobody (forged: version byte 1, then random bytes), and plain text.
        var send = string.Join(" ; ", new[]
        {
            "printf abc",
            "{ printf '\\001'; head -c 200 /dev/urandom; }",
            "printf 'GET / HTTP/1.0\\r\\n\\r\\n'",
        }.Select(payload => $"for i in 1 2 3 4 5; do {payload} > /dev/udp/{target.Address}/7946; done"));
        (await hosts[0].RunAsync("bash", ["-c", send], TimeSpan.FromSeconds(60))).EnsureSuccess();

        var after = await ClusterProbe.EventuallyAsync(async () => await DroppedAsync(target) is var d && d >= before + 15 ? (long?)d : null, hosts);
        Assert.True(after >= before + 15, $"dropped {before} -> {after}");
        Assert.True(target.Node.IsRunning);
        await ClusterProbe.ConvergeAsync(hosts, expected: 3, voters: 3, hosts);
    }

    private static async Task<long> DroppedAsync(LabHost host) =>
        (await ClusterProbe.ClusterStatusAsync(host))!.Value.GetProperty("gossip").GetProperty("dropped").GetInt64();
}

/// <summary>Real gossip datagrams delivered twice (the network replays them) are refused the second time.</summary>
[Trait("Category", "Lab")]
public sealed class ClusterReplayLabTests(ThreeHostLab fixture) : IClassFixture<ThreeHostLab>
{
    [Fact]
    public async Task Replayed_gossip_datagrams_are_dropped_and_counted()
    {
        var hosts = fixture.Lab.Hosts.ToArray();
        await ClusterProbe.FormAsync(hosts[0], hosts[1], hosts[2]);
        var (sender, target) = (hosts[0], hosts[1]);
        var before = await ReplayedAsync(target);

        // In the sender's namespace (never the root one): every gossip datagram to the target is sent twice.
        var table = "lab_replay";
        var rules = $"add table ip {table}; add chain ip {table} out {{ type filter hook output priority 0; }}; "
            + $"add rule ip {table} out ip daddr {target.Address} udp dport 7946 dup to {target.Address}";
        (await sender.RunAsync("nft", [rules])).EnsureSuccess();
        try
        {
            await ClusterProbe.EventuallyAsync(async () => await ReplayedAsync(target) >= before + 5 ? "replays counted" : null, hosts);
        }
        finally
        {
            (await sender.RunAsync("nft", ["delete", "table", "ip", table])).EnsureSuccess();
        }

        await ClusterProbe.ConvergeAsync(hosts, expected: 3, voters: 3, hosts);
    }

    private static async Task<long> ReplayedAsync(LabHost host) =>
        (await ClusterProbe.ClusterStatusAsync(host))!.Value.GetProperty("gossip").GetProperty("droppedByReason") is var reasons
        && reasons.TryGetProperty("protector:Replayed", out var count) ? count.GetInt64() : 0;
}

/// <summary>A node that restarts with a new address takes over its identity: same id, new address everywhere.</summary>
[Trait("Category", "Lab")]
public sealed class ClusterAddressChangeLabTests(ThreeHostLab fixture) : IClassFixture<ThreeHostLab>
{
    [Fact]
    public async Task A_voter_that_restarts_with_a_new_address_keeps_its_identity()
    {
        var hosts = fixture.Lab.Hosts.ToArray();
        await ClusterProbe.FormAsync(hosts[0], hosts[1], hosts[2]);
        var rows = await ClusterProbe.MembersAsync(hosts[0]);
        var moved = hosts.First(h => !rows.Single(r => r.Name == h.Name).Leader);
        var id = rows.Single(r => r.Name == moved.Name).Id;
        const string newAddress = "198.18.0.23";

        // Inside the moved host's namespace only: its old address goes, a new one comes.
        await moved.Node.StopAsync();
        (await moved.RunAsync("ip", ["addr", "del", $"{moved.Address}/24", "dev", "eth0"])).EnsureSuccess();
        (await moved.RunAsync("ip", ["addr", "add", $"{newAddress}/24", "dev", "eth0"])).EnsureSuccess();
        (await moved.RunAsync("ip", ["route", "replace", "default", "dev", "eth0"])).EnsureSuccess();
        await moved.Node.StartAsync();
        await moved.Node.WaitReadyAsync();

        var after = await ClusterProbe.EventuallyAsync(async () =>
            await ClusterProbe.AgreedMembersAsync(hosts, expected: 3, voters: 3) is { } agreed
            && agreed.Single(r => r.Id == id) is { Address: newAddress, Name: var name } && name == moved.Name ? agreed : null, hosts, timeout: TimeSpan.FromSeconds(40));

        Assert.Equal(3, after.Count);
        (await ClusterProbe.RotateTokenAsync(moved)).EnsureSuccess();
    }
}
