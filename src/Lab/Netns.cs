namespace Nanobox.Lab;

/// <summary>
/// Network namespace operations. Everything the lab does to the network goes through `ip -n NS` or
/// `nsenter --net=/run/netns/NS`, so nothing can land in the root namespace by accident.
/// </summary>
internal static class Netns
{
    private const string Dir = "/run/netns";

    public static string PathOf(string ns) => Path.Combine(Dir, ns);

    public static IReadOnlyList<string> List() =>
        System.IO.Directory.Exists(Dir) ? System.IO.Directory.GetFiles(Dir).Select(Path.GetFileName).OfType<string>().ToList() : [];

    public static async Task AddAsync(string ns, CancellationToken ct) =>
        (await ProcessRunner.RunAsync(Tools.Ip, ["netns", "add", ns], ct: ct)).EnsureSuccess();

    public static async Task DeleteAsync(string ns, CancellationToken ct)
    {
        if (File.Exists(PathOf(ns)))
        {
            (await ProcessRunner.RunAsync(Tools.Ip, ["netns", "delete", ns], ct: ct)).EnsureSuccess();
        }
    }

    /// <summary>Runs `ip -n NS -batch -` with one command per line: one process for a whole namespace's setup.</summary>
    public static async Task IpBatchAsync(string ns, IEnumerable<string> commands, CancellationToken ct)
    {
        var script = string.Join('\n', commands) + "\n";
        var result = await ProcessRunner.RunAsync(Tools.Ip, ["-n", ns, "-batch", "-"], ct: ct,
            stdin: (s, t) => s.WriteAsync(System.Text.Encoding.UTF8.GetBytes(script), t).AsTask());
        if (result.ExitCode != 0)
        {
            throw new LabException($"network setup in {ns} failed: {result.Stderr.Trim()}\nscript:\n{script}");
        }
    }

    /// <summary>The argv prefix that runs a program inside <paramref name="ns"/>. nsenter setns()es and execs without forking.</summary>
    public static string[] EnterArgs(string ns) => [Tools.Nsenter, $"--net={PathOf(ns)}", "--"];

    /// <summary>The arguments for <see cref="Tools.Nsenter"/> that run <paramref name="file"/> inside <paramref name="ns"/>.</summary>
    public static IEnumerable<string> NsenterArgs(string ns, string file, IEnumerable<string> args) =>
        EnterArgs(ns).Skip(1).Append(file).Concat(args);

    /// <summary>Runs a command inside the namespace (only its network namespace: the filesystem is the caller's).</summary>
    public static Task<CommandResult> RunAsync(string ns, string file, IEnumerable<string> args, TimeSpan? timeout, CancellationToken ct,
        Func<Stream, CancellationToken, Task>? stdin = null) =>
        ProcessRunner.RunAsync(Tools.Nsenter, NsenterArgs(ns, file, args), timeout, ct, stdin);

    /// <summary>Pids of the processes whose network namespace is <paramref name="ns"/>.</summary>
    public static async Task<IReadOnlyList<int>> PidsAsync(string ns, CancellationToken ct)
    {
        if (!File.Exists(PathOf(ns)))
        {
            return [];
        }

        var result = await ProcessRunner.RunAsync(Tools.Ip, ["netns", "pids", ns], ct: ct);
        return result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => int.TryParse(l.Trim(), out var pid) ? pid : 0)
            .Where(pid => pid > 0)
            .ToList();
    }
}
