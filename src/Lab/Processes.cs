using System.Runtime.InteropServices;

namespace Nanobox.Lab;

/// <summary>Signals and /proc look-ups for processes the lab may not hold a <see cref="System.Diagnostics.Process"/> for.</summary>
internal static class Processes
{
    public const int SigTerm = 15;
    public const int SigKill = 9;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    public static bool Signal(int pid, int signal) => pid > 0 && kill(pid, signal) == 0;

    /// <summary>Alive means running: a zombie has exited, whoever still has to reap it.</summary>
    public static bool IsAlive(int pid)
    {
        var stat = ReadStat(pid);
        return stat is not null && stat[0] != "Z" && stat[0] != "X";
    }

    /// <summary>The start time in clock ticks since boot; with the pid it names a process for good (pids get reused).</summary>
    public static long? StartTime(int pid) =>
        ReadStat(pid) is { Length: > 19 } f && long.TryParse(f[19], out var t) ? t : null;

    public static int? ParentOf(int pid) =>
        ReadStat(pid) is { Length: > 1 } f && int.TryParse(f[1], out var p) ? p : null;

    /// <summary>All live pids on the machine.</summary>
    public static IEnumerable<int> All() =>
        System.IO.Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
            .Where(pid => pid > 0);

    /// <summary>The given processes and all their descendants: container processes live in netns of their own but descend from the host's dockerd.</summary>
    public static HashSet<int> WithDescendants(IEnumerable<int> roots)
    {
        var result = new HashSet<int>(roots);
        var parents = All().Select(pid => (pid, parent: ParentOf(pid))).Where(p => p.parent is not null).ToList();
        bool grew;
        do
        {
            grew = false;
            foreach (var (pid, parent) in parents)
            {
                if (result.Contains(parent!.Value) && result.Add(pid))
                {
                    grew = true;
                }
            }
        }
        while (grew);

        return result;
    }

    /// <summary>Polls until every pid is gone; returns those still alive at the deadline.</summary>
    public static async Task<IReadOnlyList<int>> WaitGoneAsync(IEnumerable<int> pids, TimeSpan timeout, CancellationToken ct)
    {
        var pending = pids.ToList();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            pending = pending.Where(IsAlive).ToList();
            if (pending.Count == 0 || DateTime.UtcNow >= deadline)
            {
                return pending;
            }

            await Task.Delay(50, ct);
        }
    }

    /// <summary>SIGTERM, wait up to <paramref name="grace"/>, then SIGKILL and wait again.</summary>
    public static async Task TerminateAsync(IReadOnlyCollection<int> pids, TimeSpan grace, CancellationToken ct)
    {
        foreach (var pid in pids)
        {
            Signal(pid, SigTerm);
        }

        var left = await WaitGoneAsync(pids, grace, ct);
        await KillAsync(left, ct);
    }

    public static async Task KillAsync(IReadOnlyCollection<int> pids, CancellationToken ct)
    {
        foreach (var pid in pids)
        {
            Signal(pid, SigKill);
        }

        var left = await WaitGoneAsync(pids, TimeSpan.FromSeconds(10), ct);
        if (left.Count > 0)
        {
            throw new LabException($"processes {string.Join(", ", left)} survived SIGKILL");
        }
    }

    // Fields after the command name (which may contain spaces and parentheses): [0] is state (field 3 of proc(5)).
    private static string[]? ReadStat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            return text[(text.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
