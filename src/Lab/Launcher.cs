using System.Diagnostics;

namespace Nanobox.Lab;

/// <summary>
/// Starts long-running daemons (agents, dockerd) inside a host namespace so that the pid we hold IS the
/// daemon's pid: sh execs nsenter, which setns()es and execs the daemon, so signals and exit codes are
/// the daemon's own. Output is appended to a log file, never piped to us, so a daemon never blocks on us
/// and outlives us when it must.
/// </summary>
internal static class Launcher
{
    // $1 is the log; the rest is the argv to exec. Passed as arguments, so no quoting can go wrong.
    private const string Script = "log=$1; shift; exec \"$@\" </dev/null >>\"$log\" 2>&1";

    /// <summary>
    /// Starts <paramref name="argv"/> in <paramref name="ns"/> and waits until the exec chain has reached
    /// <paramref name="argv"/>[0]. With <paramref name="detach"/> the daemon gets a session of its own
    /// (setsid: the by-hand CLI exits and closes its terminal, the agents stay).
    /// </summary>
    public static async Task<Process> StartAsync(string ns, string logPath, IReadOnlyList<string> argv,
        IReadOnlyDictionary<string, string>? env, bool detach, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(Tools.Sh) { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Script);
        psi.ArgumentList.Add("sh");
        psi.ArgumentList.Add(logPath);
        // setsid forks only when it is a process-group leader; a child of ours never is, so the pid holds.
        var chain = (detach ? new[] { Tools.Setsid } : []).Concat(Netns.EnterArgs(ns)).Concat(argv);
        foreach (var arg in chain)
        {
            psi.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[key] = value;
        }

        var process = Process.Start(psi) ?? throw new LabException($"could not start {argv[0]} in {ns}");
        try
        {
            await WaitExecAsync(process, argv[0], logPath, ct);
            return process;
        }
        catch
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            process.Dispose();
            throw;
        }
    }

    private static async Task WaitExecAsync(Process process, string program, string logPath, CancellationToken ct)
    {
        var expected = RealPath(program);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            if (process.HasExited)
            {
                // A daemon that dies at once (exit 78 on a bad config) is a started-then-exited node, not a
                // launch failure: the caller sees it through the exit code. Only a failed exec chain is ours.
                return;
            }

            var exe = new FileInfo($"/proc/{process.Id}/exe").LinkTarget;
            if (exe is not null && exe.StartsWith(expected, StringComparison.Ordinal))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new LabTimeoutException($"{program} was not exec'd within 10 s (pid {process.Id} is {exe})", LogFile.Tail(logPath));
            }

            await Task.Delay(10, ct);
        }
    }

    private static string RealPath(string path) =>
        File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? Path.GetFullPath(path);
}
