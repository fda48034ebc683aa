using System.Diagnostics;

namespace Nanobox.Lab;

/// <summary>The nanobox agent of one host: start, stop, kill, restart on the same data dir, and wait for it.</summary>
public sealed class LabNode
{
    private static readonly TimeSpan DefaultReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DefaultStopTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DefaultLogTimeout = TimeSpan.FromSeconds(30);

    private readonly LabHost _host;
    private readonly bool _detach;
    private Process? _process;

    internal LabNode(LabHost host, bool detach)
    {
        _host = host;
        _detach = detach;
    }

    /// <summary>The pid of the agent last started (it is the agent's own pid, not a wrapper's), or null if never started.</summary>
    public int? Pid { get; private set; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The exit code of the last run once it has exited.</summary>
    public int? ExitCode => _process is { HasExited: true } p ? p.ExitCode : null;

    /// <summary>Where in agent.log the current run started: <see cref="WaitForLogAsync(Func{string,bool},TimeSpan?,CancellationToken)"/> looks from here.</summary>
    public long LogOffsetAtStart { get; private set; }

    /// <summary>
    /// Starts `nanobox agent` in the host with its config, data dir and socket, plus <paramref name="extraArgs"/>
    /// (e.g. --advertise) and <paramref name="env"/> (e.g. NOTIFY_SOCKET). Returns once the agent process runs,
    /// not once it is ready: see <see cref="WaitReadyAsync"/>.
    /// </summary>
    public async Task StartAsync(IEnumerable<string>? extraArgs = null, IReadOnlyDictionary<string, string>? env = null, CancellationToken ct = default)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"the node in {_host.Name} is already running (pid {Pid})");
        }

        _process?.Dispose();
        LogOffsetAtStart = LogFile.Length(_host.LogPath);
        string[] argv =
        [
            _host.NodeBinary, "agent",
            "--config", _host.ConfigPath,
            "--data-dir", _host.DataDir,
            "--socket", _host.SocketPath,
            .. extraArgs ?? [],
        ];
        _process = await Launcher.StartAsync(_host.Namespace, _host.LogPath, argv, env, _detach, ct);
        Pid = _process.Id;
        await File.WriteAllTextAsync(Path.Combine(_host.RunDir, "agent.pid"), $"{Pid}\n", ct);
    }

    /// <summary>Waits until `nanobox status --json` answers on the host's socket. Fails at once if the agent exits.</summary>
    public async Task WaitReadyAsync(TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var limit = timeout ?? DefaultReadyTimeout;
        var deadline = DateTime.UtcNow + limit;
        CommandResult? last = null;
        while (true)
        {
            var process = _process ?? throw new InvalidOperationException($"the node in {_host.Name} was never started");
            if (process.HasExited)
            {
                throw new LabException($"the node in {_host.Name} exited with code {process.ExitCode} before it was ready\n{LogFile.Tail(_host.LogPath)}");
            }

            last = await _host.NanoboxAsync(["status", "--json"], TimeSpan.FromSeconds(10), ct);
            if (last.ExitCode == 0)
            {
                return;
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new LabTimeoutException($"the node in {_host.Name} did not answer status within {limit.TotalSeconds:0.#} s (last: {last.Stderr.Trim()})",
                    LogFile.Tail(_host.LogPath));
            }

            await Task.Delay(100, ct);
        }
    }

    /// <summary>SIGTERM, then waits for the exit. Returns the exit code and how long it took; throws with the log tail (after SIGKILL) if it does not exit in time.</summary>
    public async Task<(int ExitCode, TimeSpan Elapsed)> StopAsync(TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var process = RunningProcess();
        var limit = timeout ?? DefaultStopTimeout;
        var clock = Stopwatch.StartNew();
        Processes.Signal(process.Id, Processes.SigTerm);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(limit);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            process.Kill();
            await process.WaitForExitAsync(CancellationToken.None);
            throw new LabTimeoutException($"the node in {_host.Name} did not exit within {limit.TotalSeconds:0.#} s of SIGTERM; killed it", LogFile.Tail(_host.LogPath));
        }

        return (process.ExitCode, clock.Elapsed);
    }

    /// <summary>SIGKILL (kill -9), then waits until the process is gone.</summary>
    public async Task KillAsync(CancellationToken ct = default)
    {
        var process = RunningProcess();
        process.Kill();
        await process.WaitForExitAsync(ct);
    }

    /// <summary>Waits for a line of agent.log written since the last start that matches; on timeout throws with the log tail.</summary>
    public Task WaitForLogAsync(Func<string, bool> line, TimeSpan? timeout = null, CancellationToken ct = default) =>
        WaitForLogAsync(line, LogOffsetAtStart, timeout, ct);

    /// <summary>Waits for a matching line at or after byte <paramref name="fromOffset"/> of agent.log (0: the whole log). Returns the line.</summary>
    public Task<string> WaitForLogAsync(Func<string, bool> line, long fromOffset, TimeSpan? timeout = null, CancellationToken ct = default) =>
        LogFile.WaitForLineAsync(_host.LogPath, fromOffset, line, timeout ?? DefaultLogTimeout, $"node {_host.Name}", ct);

    /// <summary>Waits until the agent process has exited on its own (e.g. exit 78 on a bad config) and returns its exit code.</summary>
    public async Task<int> WaitExitAsync(TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var process = _process ?? throw new InvalidOperationException($"the node in {_host.Name} was never started");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout ?? DefaultStopTimeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new LabTimeoutException($"the node in {_host.Name} is still running", LogFile.Tail(_host.LogPath));
        }

        return process.ExitCode;
    }

    internal void Forget()
    {
        _process?.Dispose();
        _process = null;
    }

    private Process RunningProcess() =>
        _process is { HasExited: false } p ? p : throw new InvalidOperationException($"the node in {_host.Name} is not running");
}
