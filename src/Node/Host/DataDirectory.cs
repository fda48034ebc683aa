namespace Nanobox.Node.Host;

/// <summary>
/// The agent's data dir: created 0700 and held with an exclusive lock for the agent's life,
/// so two agents can never share one store.
/// </summary>
public sealed class DataDirectory : IDisposable
{
    public const string LockFileName = "agent.lock";

    private readonly FileStream _lock;

    private DataDirectory(string path, FileStream lockFile)
    {
        Path = path;
        _lock = lockFile;
    }

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
            stream.SetLength(0);
            stream.Write(System.Text.Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n"));
            stream.Flush();
            return new DataDirectory(path, stream);
        }
        catch (IOException ex)
        {
            var holder = TryReadPid(lockPath);
            throw new ConfigException(
                $"Another nanobox agent{(holder is null ? "" : $" (pid {holder})")} is using the data dir {path}. Stop it first, or give this agent its own --data-dir.",
                ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new ConfigException($"Cannot lock the data dir {path}: {ex.Message} Run the agent as root.", ex);
        }
    }

    private static string? TryReadPid(string lockPath)
    {
        try
        {
            using var reader = new StreamReader(new FileStream(lockPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
            return reader.ReadLine()?.Trim() is { Length: > 0 } pid ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void Dispose() => _lock.Dispose();
}
