using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Nanobox.Node.Tests.Foundation;

using Nanobox.Lab;
using Nanobox.Node.Tests.Labs;

/// <summary>The foundation, proven on the published AOT binary in three lab hosts.</summary>
[Trait("Category", "Lab")]
public sealed class FoundationLabTests(ThreeHostLab fixture) : IClassFixture<ThreeHostLab>
{
    private Lab Lab => fixture.Lab;

    private static async Task<JsonElement> StatusAsync(LabHost host)
    {
        var result = (await host.NanoboxAsync("status", "--json")).EnsureSuccess();
        return JsonDocument.Parse(result.Stdout).RootElement;
    }

    [Fact]
    public async Task The_aot_binary_runs_in_every_host_and_status_answers()
    {
        var version = (await Lab.Hosts[0].RunAsync(Lab.NodeBinary, ["--version"])).EnsureSuccess().Stdout.Trim();
        var ids = new HashSet<string>();

        foreach (var host in Lab.Hosts)
        {
            var status = await StatusAsync(host);

            Assert.Matches("^[a-z2-7]{26}$", status.GetProperty("nodeId").GetString());
            Assert.True(ids.Add(status.GetProperty("nodeId").GetString()!), "node ids must differ between hosts");
            Assert.Equal(host.Name, status.GetProperty("name").GetString());
            Assert.Equal(version, status.GetProperty("version").GetString());
            Assert.Equal(host.DataDir, status.GetProperty("dataDir").GetString());
            // No --advertise given: the address of the default route's interface in that host.
            Assert.Equal(host.Address.ToString(), status.GetProperty("advertise").GetString());
            Assert.True(status.GetProperty("uptimeSeconds").GetInt64() >= 0);

            // The process is the published native binary itself, not `dotnet nanobox.dll`.
            var exe = new FileInfo($"/proc/{host.Node.Pid}/exe").LinkTarget;
            Assert.Equal(Path.GetFullPath(Lab.NodeBinary), exe);
            Assert.Equal(AdminSocketMode, File.GetUnixFileMode(host.SocketPath));
        }
    }

    private const UnixFileMode AdminSocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;

    [Fact]
    public async Task Status_in_human_form_names_the_node()
    {
        var host = Lab.Hosts[0];

        var result = (await host.NanoboxAsync("status")).EnsureSuccess();

        Assert.Matches($@"(?m)^node +{host.Name} \(", result.Stdout);
        Assert.Contains(host.SocketPath, result.Stdout);
    }

    [Fact]
    public async Task Sigterm_stops_the_agent_cleanly_and_the_node_id_survives_a_restart()
    {
        var host = Lab.Hosts[1];
        var id = (await StatusAsync(host)).GetProperty("nodeId").GetString();

        var (exitCode, _) = await host.Node.StopAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(0, exitCode);
        Assert.False(File.Exists(host.SocketPath), "a clean stop removes the admin socket");
        Assert.Contains("Stopped cleanly", host.ReadLog());

        var down = await host.NanoboxAsync("status");
        Assert.Equal(2, down.ExitCode);
        var line = Assert.Single(down.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(host.SocketPath, line);
        Assert.Contains("nanobox agent", line);

        await host.Node.StartAsync();
        await host.Node.WaitReadyAsync();
        Assert.Equal(id, (await StatusAsync(host)).GetProperty("nodeId").GetString());
    }

    [Fact]
    public async Task After_kill_9_the_node_restarts_over_its_stale_socket_with_the_same_id()
    {
        var host = Lab.Hosts[2];
        var id = (await StatusAsync(host)).GetProperty("nodeId").GetString();

        await host.Node.KillAsync();
        Assert.True(File.Exists(host.SocketPath), "kill -9 leaves the socket file behind");

        await host.Node.StartAsync();
        await host.Node.WaitReadyAsync();

        Assert.Equal(id, (await StatusAsync(host)).GetProperty("nodeId").GetString());
    }

    [Fact]
    public async Task The_agent_tells_systemd_when_it_is_ready_and_when_it_stops()
    {
        var host = Lab.Hosts[2];
        var notifyPath = Path.Combine(host.Directory, "notify.sock");
        File.Delete(notifyPath);
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));
        notify.ReceiveTimeout = 10_000;

        await host.Node.StopAsync();
        await host.Node.StartAsync(env: new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notifyPath });

        var buffer = new byte[4096];
        var ready = Encoding.UTF8.GetString(buffer, 0, notify.Receive(buffer)).Split('\n');
        Assert.Contains("READY=1", ready);
        Assert.Contains($"MAINPID={host.Node.Pid}", ready);
        // READY is only sent once the admin endpoint answers.
        (await host.NanoboxAsync("status")).EnsureSuccess();

        var (exitCode, _) = await host.Node.StopAsync();
        Assert.Equal(0, exitCode);
        Assert.Equal("STOPPING=1", Encoding.UTF8.GetString(buffer, 0, notify.Receive(buffer)));

        await host.Node.StartAsync();
        await host.Node.WaitReadyAsync();
    }

    [Fact]
    public async Task A_standalone_node_changes_nothing_in_its_hosts_kernel()
    {
        var host = Lab.Hosts[0];
        await host.Node.StopAsync();
        // The kernel finishes setting up IPv6 link-local addresses (duplicate address detection, then
        // their local routes) on its own in the first seconds of a link: let it, before comparing.
        await ClusterProbe.EventuallyAsync(async () =>
            (await host.RunAsync("ip", ["-6", "addr", "show", "tentative"])).EnsureSuccess().Stdout.Trim() == "" ? "settled" : null);
        var before = await KernelStateAsync(host);

        await host.Node.StartAsync();
        await host.Node.WaitReadyAsync();
        (await host.NanoboxAsync("status")).EnsureSuccess();

        Assert.Equal(before, await KernelStateAsync(host));
    }

    private static async Task<string> KernelStateAsync(LabHost host)
    {
        var state = new StringBuilder();
        foreach (var command in new[] { "nft list ruleset", "ip -d link show", "ip addr show", "ip route show table all", "ip -6 route show table all", "ip rule show", "ip neigh show nud permanent" })
        {
            var parts = command.Split(' ');
            state.AppendLine(command).AppendLine((await host.RunAsync(parts[0], parts[1..])).EnsureSuccess().Stdout);
        }

        return state.ToString();
    }

    [Fact]
    public async Task A_second_agent_on_the_same_data_dir_or_socket_is_refused()
    {
        var host = Lab.Hosts[0];
        var otherDir = Path.Combine(host.Directory, "other-data");
        var otherSocket = Path.Combine(host.Directory, "other.sock");

        var sameData = await host.RunAsync(Lab.NodeBinary, ["agent", "--config", host.ConfigPath, "--data-dir", host.DataDir, "--socket", otherSocket], TimeSpan.FromSeconds(20));
        var sameSocket = await host.RunAsync(Lab.NodeBinary, ["agent", "--config", host.ConfigPath, "--data-dir", otherDir, "--socket", host.SocketPath], TimeSpan.FromSeconds(20));

        Assert.Equal(78, sameData.ExitCode);
        Assert.Contains($"Another nanobox agent (pid {host.Node.Pid}) is using the data dir {host.DataDir}", sameData.Stdout + sameData.Stderr);
        Assert.Equal(78, sameSocket.ExitCode);
        Assert.Contains($"Another nanobox agent is already serving {host.SocketPath}", sameSocket.Stdout + sameSocket.Stderr);
        (await host.NanoboxAsync("status")).EnsureSuccess();
    }

    [Fact]
    public async Task A_broken_config_or_corrupt_store_stops_the_agent_with_a_clear_error()
    {
        var host = Lab.Hosts[0];
        var dir = Path.Combine(host.Directory, $"broken-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        var config = Path.Combine(dir, "nanobox.toml");
        await File.WriteAllTextAsync(config, "[node]\nname = \"x\"\ndata_dri = \"/tmp\"\n");
        string[] Args() => ["agent", "--config", config, "--data-dir", Path.Combine(dir, "data"), "--socket", Path.Combine(dir, "a.sock")];

        var badConfig = await host.RunAsync(Lab.NodeBinary, Args(), TimeSpan.FromSeconds(20));

        Assert.Equal(78, badConfig.ExitCode);
        Assert.Contains($"{config}:3: 'node.data_dri' is an unknown key", badConfig.Stderr);

        await File.WriteAllTextAsync(config, "[node]\nname = \"x\"\n");
        var store = Path.Combine(dir, "data", "node.db");
        var garbage = Enumerable.Range(0, 20_000).Select(i => (byte)(i * 7)).ToArray();
        await File.WriteAllBytesAsync(store, garbage);

        var corrupt = await host.RunAsync(Lab.NodeBinary, Args(), TimeSpan.FromSeconds(20));

        Assert.Equal(78, corrupt.ExitCode);
        Assert.Contains($"The store {store} is corrupt", corrupt.Stdout + corrupt.Stderr);
        Assert.Equal(garbage, await File.ReadAllBytesAsync(store));
    }
}
