namespace Nanobox.Bench;

/// <summary>The state of the machine a benchmark ran on, printed beside its numbers.</summary>
public static class Machine
{
    /// <summary>The 1, 5 and 15 minute load averages.</summary>
    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
}
