namespace Nanobox.Node.Tests.RuntimeLab;

using System.Net;
using System.Net.NetworkInformation;
using Microsoft.Extensions.Logging.Abstractions;
using Nanobox.Lab;
using Nanobox.Node.Runtime.Docker;
using Nanobox.Node.Storage;
using Nanobox.Node.Tests.Labs;
using DockerEngine = Nanobox.Node.Runtime.Docker.DockerEngine;
using NetworkAttachment = Nanobox.Node.Runtime.Docker.NetworkAttachment;

/// <summary>
/// <see cref="DockerEngine"/> against the real dockerd of each lab host (docker.io 20.10, API 1.41),
/// over the engine's Unix socket: the lockdown as a process inside the container sees it, only our
/// containers listed and touched, images pinned and copied engine to engine, logs, networks.
/// </summary>
[Trait("Category", "Lab")]
public sealed class DockerEngineLabTests(DockerLab fixture) : IClassFixture<DockerLab>, IAsyncLifetime
{
    private const string TestImage = "nanobox-lab/busybox:latest";
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(2);

    private readonly string _nodeId = NodeIdentity.NewId();
    private readonly string _app = $"t{Guid.NewGuid().ToString("N")[..8]}";
    private readonly List<DockerEngine> _engines = [];

    private Lab Lab => fixture.Lab;

    public async Task InitializeAsync()
    {
        foreach (var host in Lab.Hosts)
        {
            await host.ImportTestImageAsync();
        }
    }

    public Task DisposeAsync()
    {
        _engines.ForEach(e => e.Dispose());
        return Task.CompletedTask;
    }

    [Fact]
    public async Task The_engine_answers_at_api_141()
    {
        var version = await Engine(Lab["h1"]).PingAsync(default);

        Assert.StartsWith("20.10", version.Version);
        Assert.Equal("1.41", version.ApiVersion);
    }

    [Fact]
    public async Task A_planned_container_runs_as_non_root_read_only_without_capabilities_in_its_limits()
    {
        var host = Lab["h1"];
        var engine = Engine(host);
        var data = await HostDirectoryAsync(host, "data");
        var script = string.Join("; ",
            "id",
            "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status",
            "touch /rootfile 2>/dev/null && echo root-writable || echo root-readonly",
            "touch /etc/x 2>/dev/null && echo etc-writable || echo etc-readonly",
            "echo hello > /data/out && echo data-ok",
            "test -e /var/run/docker.sock -o -e /run/docker.sock && echo docker-socket || echo no-docker-socket",
            "cp /bin/busybox /tmp/bb && echo tmp-ok; /tmp/bb true 2>/dev/null && echo tmp-exec || echo tmp-noexec",
            // busybox sh dies when a fork fails, so the fork loop runs in a child shell.
            "sh -c 'for i in $(seq 60); do sleep 30 & done' 2>/dev/null; echo forks-exit=$?",
            "set -- /proc/[0-9]*; echo procs=$#");
        var plan = await PlanAsync(engine, "web.main", 0, ["sh", "-c", script]) with
        {
            WritableDirectories = new Dictionary<string, string> { ["/data"] = data },
            PidsLimit = 20,
        };

        var (container, lines) = await RunToExitAsync(engine, plan);

        Assert.Contains("uid=1000(app) gid=1000(app)", lines[0]);
        Assert.Contains("CapEff:\t0000000000000000", lines);
        Assert.Contains("CapBnd:\t0000000000000000", lines);
        Assert.Contains("NoNewPrivs:\t1", lines);
        Assert.Contains("Seccomp:\t2", lines);
        Assert.Contains("root-readonly", lines);
        Assert.Contains("etc-readonly", lines);
        Assert.Contains("data-ok", lines);
        Assert.Contains("no-docker-socket", lines);
        Assert.Contains("tmp-ok", lines);
        Assert.Contains("tmp-noexec", lines);
        Assert.DoesNotContain("forks-exit=0", lines);
        var procs = int.Parse(lines.Single(l => l.StartsWith("procs=", StringComparison.Ordinal))[6..]);
        Assert.InRange(procs, 1, 20);
        Assert.Equal("hello\n", await File.ReadAllTextAsync(Path.Combine(data, "out")));
        Assert.Equal("1000", (await host.RunAsync("stat", ["-c", "%u", Path.Combine(data, "out")])).EnsureSuccess().Stdout.Trim());

        var inspect = (await host.DockerAsync("inspect", "--format",
            "{{.HostConfig.Privileged}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.NetworkMode}} {{.HostConfig.IpcMode}} {{.HostConfig.PidMode}}|{{.HostConfig.SecurityOpt}} {{.HostConfig.CapDrop}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.PortBindings}} {{.HostConfig.PublishAllPorts}}",
            container.Id)).EnsureSuccess().Stdout.Trim();
        Assert.Equal($"false true {plan.MemoryBytes} {plan.MemoryBytes} {plan.NanoCpus} 20 none private |[no-new-privileges:true] [ALL] no <no value> false", inspect);
        var mounts = (await host.DockerAsync("inspect", "--format", "{{range .Mounts}}{{.Type}}:{{.Source}}:{{.Destination}}:{{.RW}} {{end}}", container.Id)).EnsureSuccess().Stdout.Trim();
        Assert.Equal($"bind:{data}:/data:true", mounts);
        Assert.True(await engine.StopAndRemoveAsync(container.Id, StopTimeout, default));
    }

    [Fact]
    public async Task An_image_that_puts_the_user_in_the_root_group_does_not_hand_that_group_out()
    {
        // With a bare uid the engine would add the groups the image's /etc/group lists for that user.
        var host = Lab["h1"];
        var engine = Engine(host);
        var groupFile = Path.Combine(await HostDirectoryAsync(host, "image"), "group");
        await File.WriteAllTextAsync(groupFile, "root:x:0:app\nwheel:x:10:app\napp:x:1000:\n");
        var imageId = await CommitImageAsync(host, $"nanobox-test/{_app}:groups", "CMD [\"/bin/sh\"]", (groupFile, "/etc/group"));
        var plan = await PlanAsync(engine, "web.groups", 0, ["id"]) with { Image = imageId };

        var (container, lines) = await RunToExitAsync(engine, plan);

        Assert.Equal(["uid=1000(app) gid=1000(app) groups=1000(app)"], lines);
        Assert.Contains("groups=0(root),10(wheel),1000(app)", (await host.DockerAsync("run", "--rm", "--user", "1000", imageId, "id")).EnsureSuccess().Stdout);
        await engine.StopAndRemoveAsync(container.Id, StopTimeout, default);
    }

    [Fact]
    public async Task Containers_not_made_by_this_node_are_never_listed_nor_touched()
    {
        var host = Lab["h1"];
        var engine = Engine(host);
        var stranger = $"stranger-{_app}";
        var otherNode = $"othernode-{_app}";
        (await host.DockerAsync("run", "-d", "--name", stranger, TestImage, "sleep", "300")).EnsureSuccess();
        (await host.DockerAsync("run", "-d", "--name", otherNode, "--label", "io.nanobox.managed=true", "--label", $"io.nanobox.node={NodeIdentity.NewId()}", TestImage, "sleep", "300")).EnsureSuccess();
        try
        {
            var ours = await engine.CreateAndStartAsync(await PlanAsync(engine, "worker.jobs", 0, ["sleep", "300"]), default);

            var listed = await engine.ListAsync(default);

            var only = Assert.Single(listed);
            Assert.Equal((ours.Id, $"nanobox.{_app}.worker.jobs.0", "running", _app, "worker.jobs", 0), (only.Id, only.Name, only.State, only.App, only.Component, only.Instance));
            foreach (var name in new[] { stranger, otherNode })
            {
                var refusal = await Assert.ThrowsAsync<DockerEngineException>(() => engine.StopAndRemoveAsync(name, StopTimeout, default));
                Assert.Contains("leaves it alone", refusal.Message);
                await Assert.ThrowsAsync<DockerEngineException>(() => engine.InspectAsync(name, default));
                await Assert.ThrowsAsync<DockerEngineException>(async () => await engine.ReadLogsAsync(name, new ContainerLogOptions(), default).ToListAsync());
                Assert.Equal("running", (await host.DockerAsync("inspect", "--format", "{{.State.Status}}", name)).EnsureSuccess().Stdout.Trim());
            }

            Assert.True(await engine.StopAndRemoveAsync(ours.Name, StopTimeout, default));
            Assert.Empty(await engine.ListAsync(default));
            Assert.False(await engine.StopAndRemoveAsync(ours.Name, StopTimeout, default));
        }
        finally
        {
            await host.DockerAsync("rm", "-f", stranger, otherNode);
        }
    }

    [Fact]
    public async Task A_locally_imported_image_is_pinned_by_its_id_and_runs_on_another_engine_after_export_and_import()
    {
        var (h1, h2) = (Lab["h1"], Lab["h2"]);
        var (source, target) = (Engine(h1), Engine(h2));
        var tag = $"nanobox-test/{_app}:v1";
        var imageId = await CommitImageAsync(h1, tag, $"LABEL io.test.app={_app}");

        var pin = await source.ResolvePinAsync(tag, default);
        var details = await source.InspectImageAsync(tag, default);

        Assert.Equal(imageId, pin);
        Assert.Empty(details!.RepoDigests);
        Assert.Null(await target.InspectImageAsync(imageId, default));
        await Assert.ThrowsAsync<DockerEngineException>(() => target.ResolvePinAsync(imageId, default));

        await using (var archive = await source.ExportImageAsync(imageId, default))
        {
            var loaded = await target.ImportImageAsync(archive, default);
            Assert.Contains(imageId, loaded);
        }

        Assert.Equal(imageId, await target.ResolvePinAsync(imageId, default));
        var plan = await PlanAsync(target, "web.main", 1, ["echo", "ran on h2"]) with { Image = imageId };
        var (container, lines) = await RunToExitAsync(target, plan);
        Assert.Equal(["ran on h2"], lines);
        Assert.Equal(imageId, container.ImageId);
        Assert.Equal(0, container.ExitCode);
        await target.StopAndRemoveAsync(container.Id, StopTimeout, default);
    }

    [Fact]
    public async Task Logs_follow_lines_as_they_are_written_apart_per_stream()
    {
        var engine = Engine(Lab["h1"]);
        var container = await engine.CreateAndStartAsync(await PlanAsync(engine, "worker.log", 0, ["sh", "-c", "echo one; echo oops >&2; sleep 1; echo two; sleep 1; echo three"]), default);
        var lines = new List<ContainerLogLine>();
        string? stateAtFirstLine = null;
        // Following takes 2 s: longer than this engine's request timeout, which bounds requests, not streams.
        var impatient = Engine(Lab["h1"], TimeSpan.FromSeconds(1));

        await foreach (var line in impatient.ReadLogsAsync(container.Id, new ContainerLogOptions { Follow = true }, default))
        {
            stateAtFirstLine ??= (await engine.InspectAsync(container.Id, default))!.State;
            lines.Add(line);
        }

        Assert.Equal("running", stateAtFirstLine);
        // The engine keeps each stream's order; "one" and "oops" are written at the same moment, in either order.
        var stdout = lines.Where(l => l.Stream == ContainerLogStream.StandardOutput).ToList();
        Assert.Equal(["one", "two", "three"], stdout.Select(l => l.Text));
        Assert.Equal(["oops"], lines.Where(l => l.Stream == ContainerLogStream.StandardError).Select(l => l.Text));
        Assert.True(stdout[2].Time - stdout[0].Time >= TimeSpan.FromSeconds(1.5), "the engine stamped the lines as they were written");
        var tail = await engine.ReadLogsAsync(container.Id, new ContainerLogOptions { Tail = 1 }, default).ToListAsync();
        Assert.Equal(["three"], tail.Select(l => l.Text));
        var since = await engine.ReadLogsAsync(container.Id, new ContainerLogOptions { Since = stdout[1].Time }, default).ToListAsync();
        Assert.Equal(["two", "three"], since.Select(l => l.Text));
        await engine.StopAndRemoveAsync(container.Id, StopTimeout, default);
    }

    [Fact]
    public async Task The_network_is_ensured_idempotently_and_a_container_gets_its_planned_address_and_mac()
    {
        var host = Lab["h1"];
        var engine = Engine(host);
        var name = $"net-{_app}";
        var bridge = $"nb{_app[1..7]}";
        var spec = new BridgeNetworkSpec(name, IPNetwork.Parse("10.77.0.0/16"), IPAddress.Parse("10.77.1.1"))
        {
            IpRange = IPNetwork.Parse("10.77.1.0/24"),
            BridgeName = bridge,
            Mtu = 1400,
        };

        Assert.Equal(NetworkEnsureOutcome.Created, await engine.EnsureNetworkAsync(spec, default));
        Assert.Equal(NetworkEnsureOutcome.Existing, await engine.EnsureNetworkAsync(spec, default));
        var clash = await Assert.ThrowsAsync<DockerEngineException>(() => engine.EnsureNetworkAsync(spec with { Subnet = IPNetwork.Parse("10.78.0.0/16"), Gateway = IPAddress.Parse("10.78.1.1"), IpRange = IPNetwork.Parse("10.78.1.0/24") }, default));
        Assert.Contains("other settings", clash.Message);
        Assert.Equal("10.77.0.0/16", (await host.DockerAsync("network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", name)).EnsureSuccess().Stdout.Trim());
        Assert.Equal(0, (await host.RunAsync("ip", ["link", "show", bridge])).ExitCode);

        var mac = PhysicalAddress.Parse("02-6E-62-4D-01-0A");
        var plan = await PlanAsync(engine, "web.net", 0, ["sh", "-c", "cat /sys/class/net/eth0/address /sys/class/net/eth0/mtu; ip -4 addr show eth0; echo shown; sleep 300"]) with
        {
            Network = new NetworkAttachment(name, IPAddress.Parse("10.77.1.10"), mac),
        };
        var container = await engine.CreateAndStartAsync(plan, default);
        var lines = new List<string>();
        await foreach (var line in engine.ReadLogsAsync(container.Id, new ContainerLogOptions { Follow = true }, default))
        {
            if (line.Text == "shown")
            {
                break;
            }

            lines.Add(line.Text);
        }

        Assert.Equal("02:6e:62:4d:01:0a", lines[0]);
        Assert.Equal("1400", lines[1]);
        Assert.Contains(lines, l => l.Contains("inet 10.77.1.10/16", StringComparison.Ordinal));
        Assert.Equal((name, IPAddress.Parse("10.77.1.10"), "02:6e:62:4d:01:0a"), (container.Network, container.IPv4Address, container.MacAddress));
        var listed = Assert.Single(await engine.ListAsync(default), c => c.Id == container.Id);
        Assert.Equal(IPAddress.Parse("10.77.1.10"), listed.IPv4Address);

        var foreign = $"foreign-{_app}";
        (await host.DockerAsync("network", "create", foreign)).EnsureSuccess();
        await Assert.ThrowsAsync<DockerEngineException>(() => engine.RemoveNetworkAsync(foreign, default));
        Assert.Equal(0, (await host.DockerAsync("network", "inspect", foreign)).ExitCode);
        (await host.DockerAsync("network", "rm", foreign)).EnsureSuccess();

        await Assert.ThrowsAsync<DockerEngineException>(() => engine.RemoveNetworkAsync(name, default)); // the container still holds it
        await engine.StopAndRemoveAsync(container.Id, StopTimeout, default);
        Assert.True(await engine.RemoveNetworkAsync(name, default));
        Assert.False(await engine.RemoveNetworkAsync(name, default));
    }

    [Fact]
    public async Task An_image_volume_the_plan_does_not_cover_is_refused_before_anything_is_created()
    {
        var host = Lab["h1"];
        var engine = Engine(host);
        var imageId = await CommitImageAsync(host, $"nanobox-test/{_app}:volume", "VOLUME /var/cache/app");
        var plan = await PlanAsync(engine, "data.db", 0, ["true"]) with { Image = imageId };

        var refusal = await Assert.ThrowsAsync<ContainerPlanException>(() => engine.CreateAndStartAsync(plan, default));

        Assert.Contains("VOLUME /var/cache/app", refusal.Message);
        Assert.Empty(await engine.ListAsync(default));
        var covered = plan with { WritableDirectories = new Dictionary<string, string> { ["/var/cache/app"] = await HostDirectoryAsync(host, "cache") } };
        var (container, _) = await RunToExitAsync(engine, covered);
        Assert.Equal(0, container.ExitCode);
        await engine.StopAndRemoveAsync(container.Id, StopTimeout, default);
    }

    [Fact]
    public async Task Engine_refusals_say_what_failed_and_leave_nothing_behind()
    {
        var engine = Engine(Lab["h1"]);
        var plan = await PlanAsync(engine, "web.dup", 0, ["sleep", "300"]);
        var running = await engine.CreateAndStartAsync(plan, default);

        var duplicate = await Assert.ThrowsAsync<DockerEngineException>(() => engine.CreateAndStartAsync(plan, default));
        Assert.Contains($"creating container nanobox.{_app}.web.dup.0 failed", duplicate.Message);
        Assert.Contains("already in use", duplicate.Message);

        var missingDir = plan with { Instance = 1, WritableDirectories = new Dictionary<string, string> { ["/data"] = $"/var/lib/nanobox-lab/missing-{_app}" } };
        await Assert.ThrowsAsync<DockerEngineException>(() => engine.CreateAndStartAsync(missingDir, default));
        var otherNode = plan with { Instance = 2, NodeId = NodeIdentity.NewId() };
        await Assert.ThrowsAsync<ContainerPlanException>(() => engine.CreateAndStartAsync(otherNode, default));
        var pull = await Assert.ThrowsAsync<DockerEngineException>(() => engine.PullAsync("127.0.0.1:1/nothing:latest", default));
        Assert.Contains("registry reachable", pull.Message);

        Assert.Equal([running.Id], (await engine.ListAsync(default)).Select(c => c.Id));
        await engine.StopAndRemoveAsync(running.Id, StopTimeout, default);
    }

    private DockerEngine Engine(LabHost host, TimeSpan? requestTimeout = null)
    {
        var options = new DockerEngineOptions { Endpoint = host.DockerHost!, NodeId = _nodeId };
        var engine = new DockerEngine(requestTimeout is { } timeout ? options with { RequestTimeout = timeout } : options, NullLoggerFactory.Instance);
        _engines.Add(engine);
        return engine;
    }

    private async Task<ContainerPlan> PlanAsync(DockerEngine engine, string component, int instance, IReadOnlyList<string> command) => new()
    {
        App = _app,
        Component = component,
        Instance = instance,
        NodeId = _nodeId,
        Image = await engine.ResolvePinAsync(TestImage, default),
        Command = command,
        User = "1000:1000",
        MemoryBytes = 64L * 1024 * 1024,
        NanoCpus = 500_000_000,
        PidsLimit = 64,
        Fingerprint = "test",
        TmpSizeBytes = 16L * 1024 * 1024,
    };

    /// <summary>Starts the plan and follows its output until it exits; the container stays for inspection.</summary>
    private static async Task<(ManagedContainer Container, List<string> Lines)> RunToExitAsync(DockerEngine engine, ContainerPlan plan)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var started = await engine.CreateAndStartAsync(plan, timeout.Token);
        var lines = new List<string>();
        await foreach (var line in engine.ReadLogsAsync(started.Id, new ContainerLogOptions { Follow = true }, timeout.Token))
        {
            lines.Add(line.Text);
        }

        var exited = await engine.InspectAsync(started.Id, timeout.Token);
        return (exited!, lines);
    }

    /// <summary>A directory the "agent" prepared for the instance: under the lab host's files, owned by the container's user.</summary>
    private async Task<string> HostDirectoryAsync(LabHost host, string name)
    {
        var path = Path.Combine(host.Directory, "apps", _app, name);
        Directory.CreateDirectory(path);
        (await host.RunAsync("chown", ["1000:1000", path])).EnsureSuccess();
        return path;
    }

    /// <summary>A new image only this engine has: the test image with one more config change (and file).</summary>
    private static async Task<string> CommitImageAsync(LabHost host, string tag, string change, (string From, string To)? file = null)
    {
        var builder = $"build-{Guid.NewGuid():N}";
        (await host.DockerAsync("create", "--name", builder, TestImage)).EnsureSuccess();
        try
        {
            if (file is var (from, to))
            {
                // docker cp keeps the mode: readable by the image's non-root user whatever the test process's umask.
                File.SetUnixFileMode(from, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
                (await host.DockerAsync("cp", from, $"{builder}:{to}")).EnsureSuccess();
            }

            return (await host.DockerAsync("commit", "--change", change, builder, tag)).EnsureSuccess().Stdout.Trim();
        }
        finally
        {
            await host.DockerAsync("rm", builder);
        }
    }
}
