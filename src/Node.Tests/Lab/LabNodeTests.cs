namespace Nanobox.Node.Tests.Labs;

using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Nanobox.Lab;

[Trait("Category", "Lab")]
public sealed class LabNodeTests(OneHostLab fixture) : IClassFixture<OneHostLab>
{
    private LabHost Host => fixture.Lab["h1"];
    private LabNode Node => Host.Node;

    [Fact]
    public async Task The_pid_held_is_the_agent_itself()
    {
        await EnsureRunningAsync();
        var exe = new FileInfo($"/proc/{Node.Pid}/exe").LinkTarget;
        Assert.Equal(Host.NodeBinary, exe);
        // ...and it runs inside the host's network namespace, not the root one.
        Assert.NotEqual(new FileInfo("/proc/self/ns/net").LinkTarget, new FileInfo($"/proc/{Node.Pid}/ns/net").LinkTarget);
    }

    [Fact]
    public async Task Stop_sends_SIGTERM_and_the_node_exits_0_within_5_seconds()
    {
        await EnsureRunningAsync();
        var (exitCode, elapsed) = await Node.StopAsync();
        Assert.Equal(0, exitCode);
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"took {elapsed}");
        Assert.False(Node.IsRunning);
        Assert.False(File.Exists(Host.SocketPath));
        await Node.WaitForLogAsync(l => l.Contains("Stopped cleanly"));
    }

    [Fact]
    public async Task Kill_then_restart_keeps_the_node_identity()
    {
        await EnsureRunningAsync();
        var before = await NodeIdAsync();
        var pid = Node.Pid;
        await Node.KillAsync();
        Assert.False(Node.IsRunning);
        // SIGKILL leaves no chance to clean up: the socket file stays behind.
        Assert.True(File.Exists(Host.SocketPath), "a killed agent cannot delete its socket");

        await Node.StartAsync();
        await Node.WaitReadyAsync();
        Assert.NotEqual(pid, Node.Pid);
        Assert.Equal(before, await NodeIdAsync());
    }

    [Fact]
    public async Task Start_passes_extra_arguments_and_environment()
    {
        await EnsureStoppedAsync();
        var notify = Path.Combine(Host.Directory, "notify.sock");
        File.Delete(notify);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(notify));

        await Node.StartAsync(["--advertise", "198.18.0.77"], new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify });
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var buffer = new byte[4096];
        var received = await socket.ReceiveAsync(buffer, SocketFlags.None, wait.Token);
        Assert.StartsWith("READY=1", Encoding.UTF8.GetString(buffer, 0, received));

        await Node.WaitReadyAsync();
        var status = JsonDocument.Parse((await Host.NanoboxAsync("status", "--json")).EnsureSuccess().Stdout).RootElement;
        Assert.Equal("198.18.0.77", status.GetProperty("advertise").GetString());
        await Node.StopAsync();
    }

    [Fact]
    public async Task WaitForLog_looks_only_at_the_current_run_and_times_out_with_the_log_tail()
    {
        await EnsureRunningAsync();
        await Node.StopAsync();
        await Node.StartAsync();
        await Node.WaitForLogAsync(l => l.Contains("ready in"));
        // "Stopped cleanly" is in the log, but from the previous run.
        Assert.Contains("Stopped cleanly", Host.ReadLog());
        var ex = await Assert.ThrowsAsync<LabTimeoutException>(() => Node.WaitForLogAsync(l => l.Contains("Stopped cleanly"), TimeSpan.FromSeconds(1)));
        Assert.Contains("ready in", ex.Message);
        Assert.Contains("ready in", ex.LogTail);
    }

    [Fact]
    public async Task A_node_that_cannot_start_is_reported_with_its_log()
    {
        await EnsureStoppedAsync();
        await Node.StartAsync(["--log-level", "no-such-level"]);
        var ex = await Assert.ThrowsAnyAsync<LabException>(() => Node.WaitReadyAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("exited with code", ex.Message);
        Assert.NotNull(Node.ExitCode);
        Assert.NotEqual(0, Node.ExitCode);
    }

    private async Task<string?> NodeIdAsync() =>
        JsonDocument.Parse((await Host.NanoboxAsync("status", "--json")).EnsureSuccess().Stdout).RootElement.GetProperty("nodeId").GetString();

    // Tests share one node and leave it in whatever state they end in; each sets the state it needs.
    private async Task EnsureRunningAsync()
    {
        if (!Node.IsRunning)
        {
            await Node.StartAsync();
        }

        await Node.WaitReadyAsync();
    }

    private async Task EnsureStoppedAsync()
    {
        if (Node.IsRunning)
        {
            await Node.StopAsync();
        }
    }
}
