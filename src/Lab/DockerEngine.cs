using System.Diagnostics;

namespace Nanobox.Lab;

/// <summary>
/// A private dockerd inside one host's network namespace: its own data root, exec root, containerd,
/// socket and docker0, as if the host were a machine of its own. Started with nsenter --net: the daemon
/// fails under `ip netns exec`, which remounts /sys. Never in the root namespace.
/// </summary>
internal sealed class DockerEngine
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private Process? _process;

    public DockerEngine(string hostDir, string hostRunDir)
    {
        DataRoot = Path.Combine(hostDir, "docker", "root");
        ConfigFile = Path.Combine(hostDir, "docker", "daemon.json");
        ExecRoot = Path.Combine(hostRunDir, "docker");
        PidFile = PidFileIn(hostRunDir);
        SocketPath = Path.Combine(hostDir, "docker.sock");
        LogPath = Path.Combine(hostDir, "dockerd.log");
    }

    public string DataRoot { get; }
    public string ConfigFile { get; }
    public string ExecRoot { get; }
    public string PidFile { get; }
    public string SocketPath { get; }
    public string LogPath { get; }
    public string Endpoint => $"unix://{SocketPath}";

    private static string PidFileIn(string hostRunDir) => Path.Combine(hostRunDir, "dockerd.pid");

    /// <summary>Starts dockerd in <paramref name="ns"/> and waits until `docker info` answers.</summary>
    public async Task StartAsync(string ns, bool detach, CancellationToken ct)
    {
        System.IO.Directory.CreateDirectory(DataRoot);
        System.IO.Directory.CreateDirectory(ExecRoot);
        // An empty config of our own: the machine's /etc/docker/daemon.json is not the lab's business.
        await File.WriteAllTextAsync(ConfigFile, "{}\n", ct);
        _process = await Launcher.StartAsync(ns, LogPath,
        [
            Tools.Dockerd,
            "--config-file", ConfigFile,
            "--data-root", DataRoot,
            "--exec-root", ExecRoot,
            "--pidfile", PidFile,
            "-H", Endpoint,
            // Containers get SIGKILL 2 s into a shutdown: teardown waits for dockerd, and tests wait for teardown.
            "--shutdown-timeout", "2",
        ], env: null, detach, ct);

        var deadline = DateTime.UtcNow + ReadyTimeout;
        while (true)
        {
            if (_process.HasExited)
            {
                throw new LabException($"dockerd in {ns} exited with code {_process.ExitCode}\n{LogFile.Tail(LogPath)}");
            }

            var info = await RunAsync(["info", "--format", "{{.ServerVersion}}"], TimeSpan.FromSeconds(10), ct);
            if (info.ExitCode == 0)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new LabTimeoutException($"dockerd in {ns} did not answer `docker info` within {ReadyTimeout.TotalSeconds} s", LogFile.Tail(LogPath));
            }

            await Task.Delay(250, ct);
        }
    }

    /// <summary>The docker CLI against this engine. It talks over the socket, so it needs no namespace.</summary>
    public Task<CommandResult> RunAsync(IEnumerable<string> args, TimeSpan? timeout, CancellationToken ct,
        Func<Stream, CancellationToken, Task>? stdin = null) =>
        ProcessRunner.RunAsync(Tools.Docker, new[] { "-H", Endpoint }.Concat(args), timeout, ct, stdin);

    /// <summary>
    /// Stops every dockerd of a lab through its pid file: SIGTERM (it stops containers and unmounts its
    /// layers), wait, then SIGKILL. Works from any process, so teardown needs no live DockerEngine.
    /// </summary>
    public static async Task StopAllAsync(LabPaths paths, TimeSpan grace, CancellationToken ct)
    {
        if (!System.IO.Directory.Exists(paths.RunDir))
        {
            return;
        }

        var pids = System.IO.Directory.GetDirectories(paths.RunDir)
            .Select(PidFileIn)
            .Where(File.Exists)
            .Select(f => int.TryParse(File.ReadAllText(f).Trim(), out var pid) ? pid : 0)
            .Where(Processes.IsAlive)
            .ToList();
        await Processes.TerminateAsync(pids, grace, ct);
    }
}
