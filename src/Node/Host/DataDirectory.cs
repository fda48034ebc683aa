namespace Nanobox.Node.Host;

/// <summary>
/// The agent's data dir: created 0700 and held with an exclusive lock for the agent's life,
/// so two agents can never share one store. The holder's pid is kept beside the lock (agent.pid) because
/// .NET's own flock emulation keeps anyone else from opening the locked file, even to read it.
/// </summary>
public sealed class DataDirectory : IDisposable
{
    public const string LockFileName = "agent.lock";
    public const string PidFileName = "agent.pid";

    private readonly FileStream _lock;

    private DataDirectory(string path, FileStream lockFile)
    {
        Path = path;
        _lock = lockFile;
    }

    private string PidPath => System.IO.Path.Combine(Path, PidFileName);

    public string Path { get; }

    /// <exception cref="ConfigException">The dir cannot be created, or another agent holds it.</exception>
    public static DataDirectory Acquire(string path)
    {
        try
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"Cannot create the data dir {path}: {ex.Message} Run the agent as root or choose another --data-dir.", ex);
        }

        var lockPath = System.IO.Path.Combine(path, LockFileName);
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock) on Unix; it is released if the process dies.
            var stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            var directory = new DataDirectory(path, stream);
            File.WriteAllText(directory.PidPath, $"{Environment.ProcessId}\n");
            return directory;
        }
        catch (IOException ex)
        {
            var holder = TryReadPid(System.IO.Path.Combine(path, PidFileName));
            throw new ConfigException(
                $"Another nanobox agent{(holder is null ? "" : $" (pid {holder})")} is using the data dir {path}. Stop it first, or give this agent its own --data-dir.",
                ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new ConfigException($"Cannot lock the data dir {path}: {ex.Message} Run the agent as root.", ex);
        }
    }

    private static string? TryReadPid(string pidPath)
    {
        try
        {
            return File.ReadAllText(pidPath).Trim() is { Length: > 0 } pid ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        File.Delete(PidPath);
        _lock.Dispose();
    }
}
