namespace Nanobox.Node.Tests.RuntimeLab;

using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Nanobox.Lab;
using Nanobox.Node.Admin;
using Nanobox.Node.Runtime.Docker;
using Nanobox.Node.Tests.AppsLab;
using Nanobox.Node.Tests.Labs;
using DockerEngine = Nanobox.Node.Runtime.Docker.DockerEngine;

/// <summary>A lab of <see cref="LabOptions.Hosts"/> hosts, each with a dockerd and a node, formed into one cluster.</summary>
public abstract class DockerClusterLab(int hosts) : IAsyncLifetime
{
    public Lab Lab { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Lab = await Lab.StartAsync(new LabOptions { Hosts = hosts, Docker = true });
        await ClusterProbe.FormAsync([.. Lab.Hosts], CancellationToken.None);
    }

    public async Task DisposeAsync() => await Lab.DisposeAsync();

    /// <summary>A host's node id, from `status --json`.</summary>
    public static async Task<string> NodeIdAsync(LabHost host) =>
        JsonDocument.Parse((await host.NanoboxAsync("status", "--json")).EnsureSuccess().Stdout).RootElement.GetProperty("nodeId").GetString()!;
}

public sealed class ThreeDockerClusterLab() : DockerClusterLab(3);

public sealed class TwoDockerClusterLab() : DockerClusterLab(2);

/// <summary>
/// Images travel node to node over the cluster's mutual TLS, with the published binary: an image only one
/// engine has becomes runnable on another through `nanobox image pull`; an image nobody has fails clearly,
/// naming where it was looked for; a removed node gets nothing.
/// </summary>
[Trait("Category", "Lab")]
public sealed class ImageDistributionLabTests(ThreeDockerClusterLab fixture) : IClassFixture<ThreeDockerClusterLab>
{
    [Fact]
    public async Task An_image_only_h1_has_is_copied_to_h2_and_runs_there_and_a_removed_node_cannot_fetch_it()
    {
        var (h1, h2, h3) = (fixture.Lab["h1"], fixture.Lab["h2"], fixture.Lab["h3"]);
        await h1.ImportTestImageAsync();
        var imageId = (await h1.DockerAsync("image", "inspect", "--format", "{{.Id}}", TestImage.Tag)).EnsureSuccess().Stdout.Trim();
        Assert.NotEqual(0, (await h2.DockerAsync("image", "inspect", TestImage.Tag)).ExitCode);

        var pulled = JsonSerializer.Deserialize((await h2.NanoboxAsync("image", "pull", TestImage.Tag, "--json")).EnsureSuccess().Stdout, AdminJsonContext.Default.ImagePullResponse)!;

        Assert.Equal((imageId, imageId, "peer", "h1"), (pulled.Pin, pulled.ImageId, pulled.Source, pulled.From));
        Assert.True(pulled.Bytes > 1_000_000, $"the archive of a static busybox image is over 1 MB, not {pulled.Bytes} bytes");
        Assert.Equal("ran on h2", (await h2.DockerAsync("run", "--rm", TestImage.Tag, "echo", "ran on h2")).EnsureSuccess().Stdout.Trim());
        Assert.Equal(imageId, (await h2.DockerAsync("image", "inspect", "--format", "{{.Id}}", TestImage.Tag)).EnsureSuccess().Stdout.Trim());
        Assert.Contains(h1.ReadLog().Split('\n'), l => l.Contains($"Sent image {imageId} to member", StringComparison.Ordinal));

        // Now h2 has it: nothing travels; the pin is the same on every node.
        var again = (await h2.NanoboxAsync("image", "pull", TestImage.Tag)).EnsureSuccess().Stdout;
        Assert.Contains("already on this node", again);
        Assert.Contains(imageId, again);

        // Two pulls on h3 at once, by pin: one copy (from h1 or h2), both succeed.
        var exports = Exports(h1, h2, imageId);
        var both = await Task.WhenAll(h3.NanoboxAsync("image", "pull", imageId, "--json"), h3.NanoboxAsync("image", "pull", imageId, "--json"));
        var sources = both.Select(r => JsonSerializer.Deserialize(r.EnsureSuccess().Stdout, AdminJsonContext.Default.ImagePullResponse)!.Source).Order().ToList();
        Assert.Contains("peer", sources);
        Assert.Equal(exports + 1, Exports(h1, h2, imageId));
        Assert.Equal("ran on h3", (await h3.DockerAsync("run", "--rm", imageId, "echo", "ran on h3")).EnsureSuccess().Stdout.Trim());

        // Nobody has it: a clear failure naming where the node looked.
        var missing = await h2.NanoboxAsync(["image", "pull", "nanobox-lab/nothing:latest"], TimeSpan.FromMinutes(3), default);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("image nanobox-lab/nothing:latest is not in this node's engine, not on h1, h3, and no registry answered", missing.Stderr);
        var missingId = await h2.NanoboxAsync("image", "pull", $"sha256:{new string('0', 64)}");
        Assert.Equal(1, missingId.ExitCode);
        Assert.Contains("not on h1, h3, and an image id cannot be pulled from a registry", missingId.Stderr);
        var malformed = await h2.NanoboxAsync("image", "pull", "../../etc/passwd");
        Assert.Equal(1, malformed.ExitCode);
        Assert.Contains("is not an image reference", malformed.Stderr);

        // A removed node is refused by every member: it gets nothing, and nobody sends it anything.
        (await h1.NanoboxAsync("cluster", "remove", "h3")).EnsureSuccess();
        await ClusterProbe.ConvergeAsync([h1, h2], expected: 2, voters: 2, fixture.Lab.Hosts);
        exports = Exports(h1, h2, imageId);
        (await h3.DockerAsync("image", "rm", imageId)).EnsureSuccess();

        var refused = await h3.NanoboxAsync(["image", "pull", imageId], TimeSpan.FromMinutes(3), default);

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"image {imageId} is not in this node's engine", refused.Stderr);
        Assert.Matches("h1 (refused this node|unreachable)", refused.Stderr);
        Assert.NotEqual(0, (await h3.DockerAsync("image", "inspect", imageId)).ExitCode);
        Assert.Equal(exports, Exports(h1, h2, imageId));
    }

    /// <summary>Exports of <paramref name="imageId"/> the two hosts' agents began, from their logs.</summary>
    private static int Exports(LabHost a, LabHost b, string imageId) =>
        new[] { a, b }.Sum(h => h.ReadLog().Split('\n').Count(l => l.Contains($"Sending image {imageId} to member", StringComparison.Ordinal)));
}

/// <summary>
/// Logs of a container on another node, read through the admin API (GET /v1/internal/logs, newline-delimited
/// JSON) of the published binary: streamed from the node that runs it over mutual TLS, as they are written.
/// </summary>
[Trait("Category", "Lab")]
public sealed class InstanceLogsLabTests(TwoDockerClusterLab fixture) : IClassFixture<TwoDockerClusterLab>
{
    private readonly string _app = $"t{Guid.NewGuid().ToString("N")[..8]}";

    [Fact]
    public async Task Logs_of_a_container_on_h2_stream_to_h1_as_they_are_written()
    {
        var (h1, h2) = (fixture.Lab["h1"], fixture.Lab["h2"]);
        var (h2Id, container) = await DeployOnH2Async(h1, h2, "echo one; echo oops >&2; sleep 2; echo two; sleep 2; echo three; sleep 100000");
        using var admin = AdminHttp(h1);
        var lines = new List<(LogLineResponse Line, TimeSpan At)>();
        var clock = Stopwatch.StartNew();

        await foreach (var line in ReadLogsAsync(admin, $"node={h2Id}&container={container}&follow=true"))
        {
            lines.Add((line, clock.Elapsed));
            if (line.Text == "three")
            {
                break;
            }
        }

        Assert.Equal(["one", "two", "three"], lines.Where(l => l.Line.Stream == "stdout").Select(l => l.Line.Text));
        Assert.Equal(["oops"], lines.Where(l => l.Line.Stream == "stderr").Select(l => l.Line.Text));
        var stdout = lines.Where(l => l.Line.Stream == "stdout").ToList();
        Assert.True(stdout[2].Line.Time - stdout[0].Line.Time >= TimeSpan.FromSeconds(3.5), "each line keeps the engine's timestamp");
        if (stdout[0].At < TimeSpan.FromSeconds(2))
        {
            // The follow began before "two" was written: the rest must have come as it was written, not at the end.
            Assert.True(stdout[2].At - stdout[0].At >= TimeSpan.FromSeconds(3), "lines arrived as they were written, not at the end");
        }

        var tail = await ReadLogsAsync(admin, $"node={h2Id}&container={container}&tail=1").ToListAsync();
        Assert.Equal(["three"], tail.Select(l => l.Text));
        await AppsProbe.RemoveAsync(h1, _app, fixture.Lab.Hosts);
    }

    [Fact]
    public async Task A_follower_that_leaves_stops_the_stream_on_the_node_that_serves_it()
    {
        var (h1, h2) = (fixture.Lab["h1"], fixture.Lab["h2"]);
        var (h2Id, container) = await DeployOnH2Async(h1, h2, "while true; do echo tick; sleep 1; done");
        var offset = new FileInfo(h2.LogPath).Length;
        using var admin = AdminHttp(h1);

        var seen = 0;
        await foreach (var _ in ReadLogsAsync(admin, $"node={h2Id}&container={container}&follow=true"))
        {
            if (++seen == 2)
            {
                break;
            }
        }

        admin.Dispose();
        var dropped = await h2.Node.WaitForLogAsync(l => l.Contains("ReadLogs for member", StringComparison.Ordinal) && l.Contains("ended early", StringComparison.Ordinal), offset, TimeSpan.FromSeconds(20));
        Assert.Contains(container, await h2.Node.WaitForLogAsync(l => l.Contains("Streaming the logs of", StringComparison.Ordinal), offset, TimeSpan.FromSeconds(1)));
        Assert.NotEmpty(dropped);
        var row = (await AppsProbe.PsAsync(h1, _app)).Single(r => r.Name == container);
        Assert.Equal("running", row.State);
        Assert.Equal(0, row.Restarts);
        await AppsProbe.RemoveAsync(h1, _app, fixture.Lab.Hosts);
    }

    /// <summary>
    /// Deploys <see cref="_app"/>: one worker running <paramref name="command"/> on each host (the agents remove any
    /// container of theirs that nothing placed, so the logs come from a real deploy); returns h2's node id and its container.
    /// </summary>
    private async Task<(string NodeId, string Container)> DeployOnH2Async(LabHost h1, LabHost h2, string command)
    {
        await h2.ImportTestImageAsync();
        var spec = $"app: {_app}\nworker.log:\n  image: {TestImage.Tag}\n  command: {command}\n  replicas: 2\n  resources: {{ memory: 32M, cpus: 0.1 }}\n";
        (await AppsProbe.DeployAsync(h1, _app, spec)).EnsureSuccess();
        var rows = await AppsProbe.RunningAsync(h1, _app, 2, fixture.Lab.Hosts);
        var onH2 = rows.Single(r => r.NodeName == h2.Name);
        return (onH2.Node, onH2.Name);
    }

    [Fact]
    public async Task Containers_that_are_not_the_agents_own_and_unknown_nodes_are_refused()
    {
        var (h1, h2) = (fixture.Lab["h1"], fixture.Lab["h2"]);
        var h2Id = await DockerClusterLab.NodeIdAsync(h2);
        await h2.ImportTestImageAsync();
        var stranger = $"stranger-{_app}";
        (await h2.DockerAsync("run", "-d", "--name", stranger, TestImage.Tag, "sh", "-c", "echo secret; sleep 300")).EnsureSuccess();
        using var admin = AdminHttp(h1);
        try
        {
            var foreign = await admin.GetAsync($"/v1/internal/logs?node={h2Id}&container={stranger}");
            Assert.Equal(404, (int)foreign.StatusCode);
            var problem = (await foreign.Content.ReadFromJsonAsync(AdminJsonContext.Default.ProblemResponse))!;
            Assert.Contains("is not one of this node's containers", problem.Detail);
            Assert.DoesNotContain("secret", problem.Detail);

            var missing = await admin.GetAsync($"/v1/internal/logs?node={h2Id}&container=nanobox.{_app}.web.main.0");
            Assert.Contains("has no container", (await missing.Content.ReadFromJsonAsync(AdminJsonContext.Default.ProblemResponse))!.Detail);

            var unknown = await admin.GetAsync($"/v1/internal/logs?node=nosuchnode&container={stranger}");
            Assert.Contains("is not a member of this cluster", (await unknown.Content.ReadFromJsonAsync(AdminJsonContext.Default.ProblemResponse))!.Detail);
        }
        finally
        {
            await h2.DockerAsync("rm", "-f", stranger);
        }
    }

    /// <summary>HTTP on a host's admin socket, from the test process (root, so the agent's policy admits it).</summary>
    private static HttpClient AdminHttp(LabHost host) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, ct) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(host.SocketPath), ct);
            return new NetworkStream(socket, ownsSocket: true);
        },
    })
    { BaseAddress = new Uri("http://nanobox"), Timeout = TimeSpan.FromMinutes(2) };

    private static async IAsyncEnumerable<LogLineResponse> ReadLogsAsync(HttpClient admin, string query)
    {
        using var response = await admin.GetAsync($"/v1/internal/logs?{query}", HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode)
        {
            Assert.Fail($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } json)
        {
            Assert.DoesNotContain("\"error\"", json);
            yield return JsonSerializer.Deserialize(json, AdminJsonContext.Default.LogLineResponse)!;
        }
    }
}
