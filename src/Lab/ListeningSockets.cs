namespace Nanobox.Lab;

/// <summary>
/// The TCP ports a process listens on, read from /proc without entering its namespace:
/// /proc/PID/net/tcp{,6} list the sockets of PID's network namespace, and PID's descriptors say which
/// of them are its own.
/// </summary>
internal static class ListeningSockets
{
    private const string Listen = "0A"; // TCP_LISTEN in the st column

    /// <summary>(IP version 4 or 6, port) for each listening TCP socket of <paramref name="pid"/>; empty once it is gone.</summary>
    public static IReadOnlySet<(int Version, int Port)> Of(int pid)
    {
        var result = new HashSet<(int, int)>();
        try
        {
            var own = SocketInodes(pid);
            foreach (var (table, version) in new[] { ("tcp", 4), ("tcp6", 6) })
            {
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
                foreach (var fields in File.ReadLines($"/proc/{pid}/net/{table}").Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
                {
                    if (fields.Length > 9 && fields[3] == Listen && own.Contains(fields[9]))
                    {
                        var local = fields[1];
                        result.Add((version, Convert.ToInt32(local[(local.LastIndexOf(':') + 1)..], 16)));
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The process exited while we read.
        }

        return result;
    }

    private static HashSet<string> SocketInodes(int pid) =>
        System.IO.Directory.GetFileSystemEntries($"/proc/{pid}/fd")
            .Select(fd => new FileInfo(fd).LinkTarget)
            .OfType<string>()
            .Where(target => target.StartsWith("socket:[", StringComparison.Ordinal))
            .Select(target => target["socket:[".Length..^1])
            .ToHashSet();
}
