namespace Nanobox.Bench;

/// <summary>The machine's load average (1, 5 and 15 min), printed with every run: figures from a busy machine are read differently.</summary>
public static class LoadAverage
{
    public static string Read() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
}
