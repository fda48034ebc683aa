using System.Net;

namespace Nanobox.Lab;

/// <summary>One host of a lab: a network namespace with its own address, files, nanobox agent and (optionally) dockerd.</summary>
public sealed class LabHost
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(30);
    private readonly Func<string> _binary;
    private readonly bool _detach;
    private readonly Dictionary<int, LabSshd> _sshds = [];

    internal LabHost(LabPaths paths, int index, Func<string> binary, bool docker, bool detach)
    {
        _binary = binary;
        _detach = detach;
        Index = index;
        Name = $"h{index}";
        Namespace = paths.Namespace(Name);
        Address = LabNetwork.Address(index);
        Address6 = LabNetwork.Address6(index);
        Mac = LabNetwork.Mac(index);
        Directory = paths.HostDir(Name);
        RunDir = paths.HostRunDir(Name);
        DataDir = Path.Combine(Directory, "data");
        SocketPath = Path.Combine(Directory, "admin.sock");
        ConfigPath = Path.Combine(Directory, "nanobox.toml");
        LogPath = Path.Combine(Directory, "agent.log");
        Docker = docker ? new DockerEngine(Directory, RunDir) : null;
        Node = new LabNode(this, detach);
    }

    public int Index { get; }
    public string Name { get; }
    public string Namespace { get; }

    /// <summary>/run/netns/&lt;namespace&gt;, for `nsenter --net=`.</summary>
    public string NamespacePath => Netns.PathOf(Namespace);
    public IPAddress Address { get; }
    public IPAddress Address6 { get; }
    public string Mac { get; }

    /// <summary>/var/lib/nanobox-lab/&lt;id&gt;/hN: config, data dir, logs, docker data.</summary>
    public string Directory { get; }

    /// <summary>/run/nanobox-lab/&lt;id&gt;/hN: pid files, dockerd's exec root.</summary>
    public string RunDir { get; }

    public string DataDir { get; }
    public string SocketPath { get; }
    public string ConfigPath { get; }
    public string LogPath { get; }

    /// <summary>
    /// The config every agent of the lab starts with: its name, and its own host's engine socket, also in a lab
    /// without Docker (where none answers there), so that no agent ever reaches the machine's /var/run/docker.sock.
    /// Tests that write their own config start from this.
    /// </summary>
    public string BaseConfig => $"[node]\nname = \"{Name}\"\n\n[docker]\nendpoint = \"unix://{Path.Combine(Directory, "docker.sock")}\"\n";

    /// <summary>This host's dockerd socket path, or null when the lab has no Docker.</summary>
    public string? DockerSocket => Docker?.SocketPath;

    /// <summary>The same as a DOCKER_HOST value ("unix:///...").</summary>
    public string? DockerHost => Docker?.Endpoint;

    public LabNode Node { get; }

    internal DockerEngine? Docker { get; }

    internal string NodeBinary => _binary();

    /// <summary>Runs a command inside this host's network namespace (the filesystem is the machine's).</summary>
    public Task<CommandResult> RunAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null, CancellationToken ct = default) =>
        Netns.RunAsync(Namespace, file, args, timeout, ct);

    /// <summary>The nanobox CLI in this host, against this host's socket (`--socket` is appended).</summary>
    public Task<CommandResult> NanoboxAsync(params string[] args) => NanoboxAsync(args, null, default);

    public Task<CommandResult> NanoboxAsync(IEnumerable<string> args, TimeSpan? timeout, CancellationToken ct) =>
        RunAsync(NodeBinary, args.Concat(["--socket", SocketPath]), timeout ?? CliTimeout, ct);

    /// <summary>The docker CLI against this host's engine.</summary>
    public Task<CommandResult> DockerAsync(params string[] args) => DockerAsync(args, null, default);

    public Task<CommandResult> DockerAsync(IEnumerable<string> args, TimeSpan? timeout, CancellationToken ct) =>
        RequireDocker().RunAsync(args, timeout ?? ProcessRunner.DefaultTimeout, ct);

    /// <summary>The tag <see cref="ImportTestImageAsync"/> imports the test image under.</summary>
    public const string TestImageTag = TestImage.Tag;

    /// <summary>Imports nanobox-lab/busybox:latest (busybox, root and user app 1000:1000) into this host's engine.</summary>
    public Task ImportTestImageAsync(CancellationToken ct = default) => TestImage.ImportAsync(RequireDocker(), ct);

    /// <summary>One ping from this host; true if answered within <paramref name="wait"/> (default 1 s).</summary>
    public async Task<bool> PingAsync(IPAddress target, TimeSpan? wait = null, CancellationToken ct = default)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling((wait ?? TimeSpan.FromSeconds(1)).TotalSeconds));
        var result = await RunAsync(TestImage.BusyboxPath, ["ping", "-c", "1", "-W", $"{seconds}", target.ToString()], TimeSpan.FromSeconds(seconds + 10), ct);
        return result.ExitCode == 0;
    }

    /// <summary>
    /// Starts the real OpenSSH sshd in this host, listening on <paramref name="port"/> on all its IPv4 and
    /// IPv6 addresses, with a host key of its own; returns once it listens. One sshd per port; stop it with
    /// <see cref="LabSshd.StopAsync"/>, or leave it to the lab's teardown.
    /// </summary>
    public async Task<LabSshd> StartSshdAsync(int port = 22, CancellationToken ct = default)
    {
        if (_sshds.TryGetValue(port, out var running) && running.IsRunning)
        {
            throw new InvalidOperationException($"{running} is already running");
        }

        return _sshds[port] = await LabSshd.StartAsync(this, port, _detach, ct);
    }

    /// <summary>
    /// Probes ports of <paramref name="target"/> from this host: `nanobox-lab scan` runs in this host's
    /// namespace (this process never leaves the root one) and reports each port open, closed, filtered or
    /// (UDP) open|filtered.
    /// </summary>
    public async Task<ScanResult> ScanAsync(IPAddress target, ScanRequest request, CancellationToken ct = default)
    {
        var lab = LabBinaryLocator.Command();
        var result = await RunAsync(lab[0], [.. lab.Skip(1), "scan", target.ToString(), .. request.ToArgs(), "--json"],
            request.WorstCase + TimeSpan.FromSeconds(60), ct);
        return ScanResult.FromJson(result.EnsureSuccess().Stdout);
    }

    /// <summary>
    /// From this host, connects to TCP <paramref name="port"/> on each of <paramref name="targets"/> over and over
    /// until each is <paramref name="goal"/> (`nanobox-lab reach` in this host's namespace); see <see cref="ReachWatcher"/>.
    /// </summary>
    public async Task<ReachSighting[]> WatchReachAsync(IEnumerable<IPAddress> targets, int port, ReachGoal goal, TimeSpan limit, CancellationToken ct = default)
    {
        var lab = LabBinaryLocator.Command();
        string[] args = [.. lab.Skip(1), "reach", "--tcp", $"{port}", "--until", goal == ReachGoal.Open ? "open" : "blocked",
            "--limit-ms", $"{(int)limit.TotalMilliseconds}", .. targets.Select(t => t.ToString())];
        var result = await RunAsync(lab[0], args, limit + TimeSpan.FromSeconds(60), ct);
        return ReachWatcher.FromJson(result.Stdout);
    }

    /// <summary>The whole agent.log (all runs).</summary>
    public string ReadLog() => LogFile.Read(LogPath);

    /// <summary>The last lines of agent.log.</summary>
    public string LogTail(int lines = 40) => LogFile.Tail(LogPath, lines);

    public override string ToString() => $"{Name} ({Address}, {Namespace})";

    internal HostState ToState() =>
        new(Name, Namespace, Address.ToString(), Address6.ToString(), Directory, SocketPath, LogPath, DockerSocket);

    private DockerEngine RequireDocker() =>
        Docker ?? throw new InvalidOperationException("this lab has no Docker: start it with LabOptions.Docker = true");
}
