using System.Diagnostics;

namespace Nanobox.Lab;

/// <summary>
/// The real OpenSSH daemon in one lab host, on one port: what a host firewall must keep reachable. It runs
/// as `sshd -D -e` under nsenter (like dockerd), so its pid is sshd's own and its comm is "sshd", which is
/// how the product finds SSH ports. Config, host key and log are the host's own; the machine's sshd and
/// /etc/ssh play no part. Teardown kills it with every other process of the host's namespace.
/// </summary>
public sealed class LabSshd
{
    private static readonly TimeSpan ListenTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    // sshd's privilege-separated child chroots into this empty directory; Debian's unit makes it at boot.
    private const string PrivsepDir = "/run/sshd";

    private readonly Process _process;

    private LabSshd(LabHost host, int port, Process process, string configPath, string logPath, string hostKeyPath)
    {
        Host = host;
        Port = port;
        _process = process;
        Pid = process.Id;
        ConfigPath = configPath;
        LogPath = logPath;
        HostKeyPath = hostKeyPath;
    }

    public LabHost Host { get; }
    public int Port { get; }

    /// <summary>sshd's own pid (the listener; connections are served by children of it).</summary>
    public int Pid { get; }

    public string ConfigPath { get; }
    public string LogPath { get; }

    /// <summary>The host's private ed25519 key; the public one is beside it with ".pub" (for known_hosts).</summary>
    public string HostKeyPath { get; }

    public bool IsRunning => !_process.HasExited;

    /// <summary>Starts sshd in <paramref name="host"/> on <paramref name="port"/> (IPv4 and IPv6, all addresses) and waits until it listens.</summary>
    internal static async Task<LabSshd> StartAsync(LabHost host, int port, bool detach, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        var sshd = Tools.Sshd; // fails with the package to install before anything is written
        var dir = Path.Combine(host.Directory, "sshd");
        System.IO.Directory.CreateDirectory(dir);
        System.IO.Directory.CreateDirectory(PrivsepDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var hostKey = Path.Combine(dir, "ssh_host_ed25519_key");
        if (!File.Exists(hostKey))
        {
            (await ProcessRunner.RunAsync(Tools.SshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", $"nanobox-lab {host.Name}", "-f", hostKey], ct: ct))
                .EnsureSuccess();
        }

        var config = Path.Combine(dir, $"sshd-{port}.conf");
        var log = Path.Combine(dir, $"sshd-{port}.log");
        var pidFile = Path.Combine(host.RunDir, $"sshd-{port}.pid");
        await File.WriteAllTextAsync(config, Config(port, hostKey, pidFile, dir), ct);

        // An absolute path: sshd re-executes itself for every connection and refuses to start otherwise.
        var process = await Launcher.StartAsync(host.Namespace, log, [sshd, "-D", "-e", "-f", config], env: null, detach, ct);
        var daemon = new LabSshd(host, port, process, config, log, hostKey);
        try
        {
            await daemon.WaitListeningAsync(ct);
            return daemon;
        }
        catch
        {
            await daemon.StopAsync(CancellationToken.None);
            throw;
        }
    }

    /// <summary>SIGTERM (SIGKILL if it lingers), then waits until it is gone. Connections it serves die with it.</summary>
    public async Task StopAsync(CancellationToken ct = default)
    {
        if (_process.HasExited)
        {
            return;
        }

        await Processes.TerminateAsync([Pid], StopTimeout, ct);
        await _process.WaitForExitAsync(ct);
    }

    /// <summary>sshd's log (it logs to stderr with -e).</summary>
    public string ReadLog() => LogFile.Read(LogPath);

    public override string ToString() => $"sshd on {Host.Name}:{Port} (pid {Pid})";

    // Only what the lab needs, so that the distribution's defaults and /etc/ssh do not leak in: no PAM
    // (no login stack to consult), keys only, files in the host's own directory.
    private static string Config(int port, string hostKey, string pidFile, string dir) => $"""
        Port {port}
        ListenAddress 0.0.0.0
        ListenAddress ::
        HostKey {hostKey}
        PidFile {pidFile}
        AuthorizedKeysFile {Path.Combine(dir, "authorized_keys")}
        UsePAM no
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        PermitRootLogin prohibit-password

        """;

    /// <summary>Until sshd itself holds listening sockets on the port for IPv4 and IPv6 (read from /proc, which sees its namespace).</summary>
    private async Task WaitListeningAsync(CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + ListenTimeout;
        while (true)
        {
            if (_process.HasExited)
            {
                throw new LabException($"sshd in {Host.Name} exited with code {_process.ExitCode}\n{LogFile.Tail(LogPath)}");
            }

            var listening = ListeningSockets.Of(Pid);
            if (listening.Contains((4, Port)) && listening.Contains((6, Port)))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new LabTimeoutException($"sshd in {Host.Name} did not listen on port {Port} within {ListenTimeout.TotalSeconds} s", LogFile.Tail(LogPath));
            }

            await Task.Delay(20, ct);
        }
    }
}
