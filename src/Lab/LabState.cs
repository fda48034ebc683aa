using System.Text.Json;

namespace Nanobox.Lab;

/// <summary>One host as lab.json describes it: enough for the CLI to reach it from another process.</summary>
internal sealed record HostState(string Name, string Namespace, string Address, string Address6, string Directory,
    string SocketPath, string LogPath, string? DockerSocket);

/// <summary>lab.json: what a lab is, written under /run/nanobox-lab/&lt;id&gt; for the CLI, `ls` and diagnosis.</summary>
internal sealed record LabState(string Id, DateTimeOffset Created, string? NodeBinary, bool Docker, string SwitchNamespace,
    IReadOnlyList<HostState> Hosts)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public void Write(LabPaths paths) => WriteAtomically(paths.StateFile, JsonSerializer.Serialize(this, Json));

    public static LabState? TryRead(LabPaths paths)
    {
        try
        {
            return JsonSerializer.Deserialize<LabState>(File.ReadAllText(paths.StateFile), Json);
        }
        catch (Exception ex) when (ex is IOException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Readers (another process's `ls` or sweep) must never see half a file.</summary>
    internal static void WriteAtomically(string path, string text)
    {
        var tmp = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }
}

/// <summary>
/// owner.pid: who keeps a lab alive. "PID STARTTIME" for a lab owned by a process (a test run), "manual"
/// for one made by `nanobox-lab up`. The start time guards against pid reuse: a stale lab whose pid now
/// belongs to another process is still stale.
/// </summary>
internal static class LabOwner
{
    public const string Manual = "manual";

    public static void WriteSelf(LabPaths paths) =>
        Write(paths, Environment.ProcessId, Processes.StartTime(Environment.ProcessId) ?? 0);

    public static void Write(LabPaths paths, int pid, long startTime) =>
        LabState.WriteAtomically(paths.OwnerFile, $"{pid} {startTime}\n");

    public static void WriteManual(LabPaths paths) => LabState.WriteAtomically(paths.OwnerFile, Manual + "\n");

    public static string Describe(LabPaths paths) => File.Exists(paths.OwnerFile) ? File.ReadAllText(paths.OwnerFile).Trim() : "(none)";

    /// <summary>True while the lab must be left alone: manual, or its owner process still runs.</summary>
    public static bool IsAlive(LabPaths paths)
    {
        string text;
        try
        {
            text = File.ReadAllText(paths.OwnerFile).Trim();
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }

        if (text == Manual)
        {
            return true;
        }

        var parts = text.Split(' ');
        return parts.Length == 2 && int.TryParse(parts[0], out var pid) && long.TryParse(parts[1], out var start)
            && Processes.IsAlive(pid) && Processes.StartTime(pid) == start;
    }
}
