using System.Text.Json;
using Nanobox.Node.Runtime.Instances;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Nanobox.Node.Tests.AppsLab;

using Nanobox.Lab;

/// <summary>
/// Three hosts, each with its own dockerd and agent, formed into one cluster; only h1's engine has the test
/// image, so every other node gets it over the cluster's mutual TLS. A dead member's instances move after 5 s.
/// </summary>
public sealed class AppsClusterLab : IAsyncLifetime
{
    public Lab Lab { get; private set; } = null!;

    public IReadOnlyList<LabHost> Hosts => Lab.Hosts;

    public async Task InitializeAsync()
    {
        Lab = await Lab.StartAsync(new LabOptions { Hosts = 3, Docker = true });
        foreach (var host in Hosts)
        {
            await host.Node.StopAsync();
            await File.WriteAllTextAsync(host.ConfigPath, $"{host.BaseConfig}\n[apps]\nreschedule_after = \"5s\"\n");
            await host.Node.StartAsync();
            await host.Node.WaitReadyAsync();
        }

        await Hosts[0].ImportTestImageAsync();
        await ClusterProbe.FormAsync([.. Hosts], CancellationToken.None);
    }

    public async Task DisposeAsync() => await Lab.DisposeAsync();

    /// <summary>Waits until all three members agree again (a test that broke a host has brought it back).</summary>
    public Task HealthyAsync() => ClusterProbe.ConvergeAsync(Hosts, expected: 3, voters: 3, timeout: TimeSpan.FromMinutes(2));
}

/// <summary>Issue 6's proof: app components on three hosts, locked down, placed by the leader and reconciled by every agent.</summary>
[Trait("Category", "Lab")]
public sealed class AppsLabTests(AppsClusterLab fixture, ITestOutputHelper output) : IClassFixture<AppsClusterLab>
{
    private const string Image = TestImage.Tag;

    private IReadOnlyList<LabHost> Hosts => fixture.Hosts;

    [Fact]
    public async Task Three_components_run_locked_down_on_three_hosts_and_reach_each_other_over_the_overlay()
    {
        await fixture.HealthyAsync();
        var h1 = Hosts[0];
        var spec = $$"""
            app: shop
            web.main:
              image: {{Image}}
              command: while true; do echo hello-from-web | nc -l -p 80; done
              ports: [80]
              cap_add: [NET_BIND_SERVICE]
              writable_dirs: [/app/cache]
              resources: { memory: 32M, cpus: 0.1 }
            worker.tasks:
              image: {{Image}}
              command: while true; do echo hello-from-worker | nc -l -p 9000; done
              ports: [9000]
              resources: { memory: 32M, cpus: 0.1 }
            data.db:
              image: {{Image}}
              command: while true; do echo hello-from-db | nc -l -p 5432; done
              ports: [5432]
              network_dirs: [/data]
              user: 1500
              resources: { memory: 32M, cpus: 0.1 }
            """;

        var deployed = await AppsProbe.DeployAsync(h1, "shop", spec);
        output.WriteLine(deployed.ToString());
        deployed.EnsureSuccess();

        var rows = await AppsProbe.RunningAsync(h1, "shop", 3, Hosts);
        foreach (var row in rows)
        {
            output.WriteLine($"{row.Key} on {row.NodeName} at {row.OverlayIp} image {row.Image} digest {row.Digest} restarts {row.Restarts}");
        }

        Assert.Superset(new HashSet<string> { "app", "component", "node", "state", "overlayIp", "image", "digest", "restarts" }, (await AppsProbe.PsFieldsAsync(h1)).ToHashSet());

        // Spread over the three hosts; each node's own `ps` agrees; the pin is the image id h1 had.
        Assert.Equal(3, rows.Select(r => r.NodeName).Distinct().Count());
        var imageId = (await h1.DockerAsync("image", "inspect", "--format", "{{.Id}}", Image)).EnsureSuccess().Stdout.Trim();
        Assert.All(rows, r => Assert.Equal((Image, imageId, 0), (r.Image, r.Digest, r.Restarts)));

        // Only h1's engine had the image: the others got it from a member over mutual TLS, h1 at least once.
        Assert.Contains(h1.ReadLog().Split('\n'), l => l.Contains($"Sent image {imageId} to member", StringComparison.Ordinal));
        foreach (var host in Hosts.Skip(1))
        {
            Assert.Equal(imageId, (await host.DockerAsync("image", "inspect", "--format", "{{.Id}}", imageId)).EnsureSuccess().Stdout.Trim());
        }
        foreach (var host in Hosts.Skip(1))
        {
            Assert.Equal(rows.Select(r => r.Key + r.Node + r.OverlayIp).Order(), (await AppsProbe.PsAsync(host, "shop")).Select(r => r.Key + r.Node + r.OverlayIp).Order());
        }

        var ports = new Dictionary<string, (string Port, string Greeting)>
        {
            ["web.main"] = ("80", "hello-from-web"),
            ["worker.tasks"] = ("9000", "hello-from-worker"),
            ["data.db"] = ("5432", "hello-from-db"),
        };
        foreach (var row in rows)
        {
            var host = AppsProbe.HostOf(Hosts, row);

            // Not root: uid 1000 by default, the spec's 1500 for data.db.
            var id = (await AppsProbe.ExecAsync(host, row.Name, "id")).EnsureSuccess().Stdout.Trim();
            output.WriteLine($"{row.Key}: {id}");
            var uid = int.Parse(Regex.Match(id, @"uid=(\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(row.Component == "data.db" ? 1500 : 1000, uid);

            // No effective capability, also for web.main's NET_BIND_SERVICE (it binds 80 through the namespace's sysctl).
            var status = (await AppsProbe.ExecAsync(host, row.Name, "cat", "/proc/self/status")).EnsureSuccess().Stdout;
            Assert.Contains("CapEff:\t0000000000000000", status);
            Assert.Contains("NoNewPrivs:\t1", status);

            // Read-only everywhere but /tmp and its own dirs.
            foreach (var path in new[] { "/x", "/bin/x", "/etc/x", "/home/app/x" })
            {
                var touched = await AppsProbe.ExecAsync(host, row.Name, "touch", path);
                Assert.False(touched.Succeeded, $"{row.Key} wrote {path}: {touched}");
            }

            (await AppsProbe.ExecAsync(host, row.Name, "touch", "/tmp/x")).EnsureSuccess();
            var own = row.Component switch { "web.main" => "/app/cache/x", "data.db" => "/data/x", _ => null };
            if (own is not null)
            {
                (await AppsProbe.ExecAsync(host, row.Name, "touch", own)).EnsureSuccess();
            }

            // Every instance reaches the other two by their overlay addresses, across hosts.
            foreach (var other in rows.Where(r => r != row))
            {
                var (port, greeting) = ports[other.Component];
                var answer = await ClusterProbe.EventuallyAsync(async () =>
                {
                    var reply = await AppsProbe.ExecAsync(host, row.Name, "nc", "-w", "3", other.OverlayIp!, port);
                    return reply.Stdout.Contains(greeting, StringComparison.Ordinal) ? reply.Stdout : null;
                }, Hosts, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(1));
                output.WriteLine($"{row.Key} ({row.NodeName}) -> {other.Key} ({other.NodeName}, {other.OverlayIp}:{port}): {answer.Trim()}");
            }
        }

        // The locked-down settings as the engine recorded them.
        var web = rows.Single(r => r.Component == "web.main");
        var inspect = (await AppsProbe.HostOf(Hosts, web).DockerAsync("inspect", "--format",
            "{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.Privileged}} {{.HostConfig.CapDrop}} {{.HostConfig.SecurityOpt}} {{.HostConfig.NetworkMode}} {{.HostConfig.PidMode}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}", web.Name)).EnsureSuccess().Stdout.Trim();
        output.WriteLine(inspect);
        Assert.Equal("true false [ALL] [no-new-privileges:true] nanobox  33554432 100000000 512", inspect);

        await AppsProbe.RemoveAsync(h1, "shop", Hosts);
    }

    [Fact]
    public async Task Logs_come_from_the_node_that_runs_the_component_a_rollback_restores_the_previous_version_and_rm_removes_every_instance()
    {
        await fixture.HealthyAsync();
        var h1 = Hosts[0];
        string Spec(string greeting) => $$"""
            app: board
            worker.jobs:
              image: {{Image}}
              command: while true; do echo {{greeting}}; sleep 1; done
              env: { GREETING: {{greeting}} }
              resources: { memory: 32M, cpus: 0.1 }
            """;

        (await AppsProbe.DeployAsync(h1, "board", Spec("first"))).EnsureSuccess();
        var first = Assert.Single(await AppsProbe.RunningAsync(h1, "board", 1, Hosts));
        var elsewhere = Hosts.First(h => h.Name != first.NodeName);

        CommandResult? last = null;
        var logs = await ClusterProbe.EventuallyAsync(async () =>
        {
            last = await elsewhere.NanoboxAsync(["logs", "worker.jobs", "--tail", "3"], TimeSpan.FromMinutes(1), default);
            return last.Succeeded && last.Stdout.Contains("first", StringComparison.Ordinal) ? last : null;
        }, Hosts, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(1)).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : throw new TimeoutException($"last: {last}", t.Exception), TaskScheduler.Default);
        output.WriteLine($"logs on {elsewhere.Name} of worker.jobs on {first.NodeName}:\n{logs.Stdout}");
        Assert.All(logs.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.Equal("first", l));

        // Version 2 changes the container; the rollback (version 3) brings version 1's back.
        (await AppsProbe.DeployAsync(h1, "board", Spec("second"))).EnsureSuccess();
        await ClusterProbe.EventuallyAsync(async () =>
        {
            var row = (await AppsProbe.PsAsync(h1, "board")).SingleOrDefault(r => r.State == "running");
            return row is null ? null : (await AppsProbe.ExecAsync(AppsProbe.HostOf(Hosts, row), row.Name, "sh", "-c", "echo $GREETING")).Stdout.Trim() == "second" ? row : null;
        }, Hosts, AppsProbe.Slow, TimeSpan.FromSeconds(1));

        var rolled = await h1.NanoboxAsync(["app", "rollback", "board"], AppsProbe.Slow, default);
        output.WriteLine(rolled.ToString());
        Assert.Contains("version 3 brings back version 1", rolled.EnsureSuccess().Stdout);
        await ClusterProbe.EventuallyAsync(async () =>
        {
            var rows = await AppsProbe.PsAsync(h1, "board");
            return rows.Count == 1 && rows[0].State == "running"
                && (await AppsProbe.ExecAsync(AppsProbe.HostOf(Hosts, rows[0]), rows[0].Name, "sh", "-c", "echo $GREETING")).Stdout.Trim() == "first" ? rows : null;
        }, Hosts, AppsProbe.Slow, TimeSpan.FromSeconds(1));
        var show = JsonDocument.Parse((await h1.NanoboxAsync("app", "show", "board", "--json")).EnsureSuccess().Stdout).RootElement;
        Assert.Equal(3, show.GetProperty("current").GetProperty("version").GetInt32());
        Assert.Equal(1, show.GetProperty("current").GetProperty("restoredFrom").GetInt32());

        await AppsProbe.RemoveAsync(h1, "board", Hosts);
        Assert.DoesNotContain("board", (await h1.NanoboxAsync("app", "ls")).EnsureSuccess().Stdout);
    }

    [Fact]
    public async Task An_invalid_spec_and_an_image_nobody_has_change_nothing()
    {
        await fixture.HealthyAsync();
        var (h1, h2) = (Hosts[0], Hosts[1]);
        (await AppsProbe.DeployAsync(h1, "keep", Worker("keep", "sleep 100000"))).EnsureSuccess();
        await AppsProbe.RunningAsync(h1, "keep", 1, Hosts);
        var apps = (await h1.NanoboxAsync("app", "ls", "--json")).EnsureSuccess().Stdout;
        var ps = (await AppsProbe.PsAsync(h1)).Select(r => r.Key + r.Node + r.State).Order().ToList();

        var invalid = await AppsProbe.DeployAsync(h2, "keep", $"app: keep\nworker.keep:\n  image: {Image}\n  replicas: many\n  user: 0\n");
        output.WriteLine(invalid.ToString());
        Assert.Equal(1, invalid.ExitCode);
        Assert.Contains("line 4: worker.keep.replicas: many is not a whole number", invalid.Stderr);
        Assert.Contains("line 5: worker.keep.user: uid 0 is below 1000", invalid.Stderr);

        var missing = await AppsProbe.DeployAsync(h2, "keep", "app: keep\nworker.keep:\n  image: nanobox-lab/nothing:latest\n");
        output.WriteLine(missing.ToString());
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("nanobox-lab/nothing:latest", missing.Stderr);
        Assert.Contains("is not in this node's engine, not on h1, h3, and no registry answered", missing.Stderr);

        Assert.Equal(apps, (await h1.NanoboxAsync("app", "ls", "--json")).EnsureSuccess().Stdout);
        Assert.Equal(ps, (await AppsProbe.PsAsync(h1)).Select(r => r.Key + r.Node + r.State).Order().ToList());
        await AppsProbe.RemoveAsync(h1, "keep", Hosts);
    }

    [Fact]
    public async Task A_crashing_instance_is_restarted_with_back_off_and_reported_as_crash_looping()
    {
        await fixture.HealthyAsync();
        var h1 = Hosts[0];
        (await AppsProbe.DeployAsync(h1, "crashy", Worker("crashy", "echo boom; exit 3", "restart_backoff_max: 2s"))).EnsureSuccess();

        var row = await ClusterProbe.EventuallyAsync(async () =>
            (await AppsProbe.PsAsync(h1, "crashy")).SingleOrDefault(r => r.State == InstanceStates.CrashLoop && r.Restarts >= 3 && r.ExitCode == 3), Hosts, AppsProbe.Slow, TimeSpan.FromSeconds(1));
        output.WriteLine($"{row.Key} on {row.NodeName}: {row.State}, exit {row.ExitCode}, {row.Restarts} restarts, error {row.Error}");
        await AppsProbe.RemoveAsync(h1, "crashy", Hosts);
    }

    [Fact]
    public async Task Restarting_an_agent_restarts_and_duplicates_nothing()
    {
        await fixture.HealthyAsync();
        var h1 = Hosts[0];
        (await AppsProbe.DeployAsync(h1, "steady", Worker("steady", "sleep 100000", "replicas: 3"))).EnsureSuccess();
        var rows = await AppsProbe.RunningAsync(h1, "steady", 3, Hosts);
        var before = await ContainersEverywhereAsync("steady");
        Assert.Equal(3, before.Count);

        foreach (var host in Hosts)
        {
            var (code, _) = await host.Node.StopAsync();
            Assert.Equal(0, code);
            var restartedAt = DateTimeOffset.UtcNow;
            await host.Node.StartAsync();
            await host.Node.WaitReadyAsync();

            // Two full passes of the new agent's reconciler after its start.
            await ClusterProbe.EventuallyAsync(async () =>
            {
                var runtime = JsonDocument.Parse((await host.NanoboxAsync("status", "--json")).EnsureSuccess().Stdout).RootElement.GetProperty("runtime");
                return runtime.GetProperty("state").GetString() == "ready"
                    && runtime.GetProperty("reconciledAt").GetDateTimeOffset() > restartedAt + TimeSpan.FromSeconds(5)
                    && runtime.GetProperty("running").GetInt32() == runtime.GetProperty("placed").GetInt32() ? "reconciled" : null;
            }, Hosts, AppsProbe.Slow, TimeSpan.FromSeconds(1));
            await fixture.HealthyAsync();
        }

        Assert.Equal(before, await ContainersEverywhereAsync("steady"));
        var after = await AppsProbe.RunningAsync(h1, "steady", 3, Hosts);
        Assert.Equal(rows.Select(r => r.Key + r.Node + r.OverlayIp).Order(), after.Select(r => r.Key + r.Node + r.OverlayIp).Order());
        Assert.All(after, r => Assert.Equal(0, r.Restarts));
        await AppsProbe.RemoveAsync(h1, "steady", Hosts);
    }

    [Fact]
    public async Task Instances_of_a_killed_host_come_back_on_the_others_and_are_not_duplicated_when_it_returns()
    {
        await fixture.HealthyAsync();
        var leader = ClusterProbe.LeaderHost(Hosts, await ClusterProbe.MembersAsync(Hosts[0]));
        var survivor = leader;
        (await AppsProbe.DeployAsync(survivor, "moving", Worker("moving", "sleep 100000", "replicas: 4"))).EnsureSuccess();
        var rows = await AppsProbe.RunningAsync(survivor, "moving", 4, Hosts);
        var victim = Hosts.First(h => h != leader && rows.Any(r => r.NodeName == h.Name));
        var victimId = rows.First(r => r.NodeName == victim.Name).Node;
        var moved = rows.Where(r => r.NodeName == victim.Name).Select(r => r.Key).ToList();
        output.WriteLine($"killing {victim.Name}, which runs {string.Join(", ", moved)}");

        // The host dies: its agent is killed, its containers too, and it drops off the network.
        await victim.Node.KillAsync();
        await fixture.Lab.IsolateAsync(victim);
        (await victim.DockerAsync(["kill", .. (await AppsProbe.ContainersAsync(victim, "moving")).Keys])).EnsureSuccess();

        var back = await AppsProbe.RunningAsync(survivor, "moving", 4, Hosts, r => r.NodeName != victim.Name);
        foreach (var row in back)
        {
            output.WriteLine($"{row.Key} on {row.NodeName}");
        }

        Assert.Equal(rows.Select(r => r.Key).Order(), back.Select(r => r.Key).Order());
        var survivors = Hosts.Where(h => h != victim).ToList();
        Assert.Equal(4, (await Task.WhenAll(survivors.Select(h => AppsProbe.ContainersAsync(h, "moving")))).Sum(c => c.Values.Count(v => v.EndsWith(" true", StringComparison.Ordinal))));

        // It returns: it runs none of them again, and nothing is duplicated anywhere.
        await fixture.Lab.RejoinAsync(victim);
        await victim.Node.StartAsync();
        await victim.Node.WaitReadyAsync();
        await fixture.HealthyAsync();
        await ClusterProbe.EventuallyAsync(async () => (await AppsProbe.ContainersAsync(victim, "moving")).Count == 0 ? "cleaned" : null, Hosts, AppsProbe.Slow, TimeSpan.FromSeconds(1));
        var after = await AppsProbe.RunningAsync(victim, "moving", 4, Hosts);
        Assert.Equal(back.Select(r => r.Key + r.Node).Order(), after.Select(r => r.Key + r.Node).Order());
        Assert.DoesNotContain(after, r => r.Node == victimId);
        await AppsProbe.RemoveAsync(survivor, "moving", Hosts);
    }

    /// <summary>A spec of one small component, <c>worker.APP</c>, running <paramref name="command"/> through the shell.</summary>
    private static string Worker(string app, string command, string extra = "") =>
        $"app: {app}\nworker.{app}:\n  image: {Image}\n  command: {command}\n  resources: {{ memory: 32M, cpus: 0.1 }}\n" + (extra.Length == 0 ? "" : $"  {extra}\n");

    private async Task<Dictionary<string, string>> ContainersEverywhereAsync(string app)
    {
        var all = new Dictionary<string, string>();
        foreach (var host in Hosts)
        {
            foreach (var (name, state) in await AppsProbe.ContainersAsync(host, app))
            {
                all.Add($"{host.Name}/{name}", state);
            }
        }

        return all;
    }
}
