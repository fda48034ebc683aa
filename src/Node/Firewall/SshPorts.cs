using System.Globalization;

namespace Nanobox.Node.Firewall;

/// <summary>
/// Finds the TCP ports sshd really listens on in this network namespace, so moving sshd to another
/// port never locks its operator out: the listening sockets of /proc/net/tcp{,6} whose inode an
/// `sshd` process holds open.
/// </summary>
public static class SshPorts
{
    /// <summary>Used when no sshd is found and none is configured: the port SSH is almost always on.</summary>
    public const int Default = 22;

    private const string ListenState = "0A";

    /// <summary>The ports to keep open for SSH: the discovered ones plus the configured ones, or <see cref="Default"/> when both are empty.</summary>
    public static IReadOnlyList<int> Resolve(IEnumerable<int> configured)
    {
        var ports = Discover().Concat(configured).Distinct().Order().ToList();
        return ports.Count > 0 ? ports : [Default];
    }

    /// <summary>Listening ports held by sshd processes; empty when there is none or /proc cannot be read.</summary>
    public static IReadOnlyList<int> Discover()
    {
        var inodes = SshdSocketInodes();
        if (inodes.Count == 0)
        {
            return [];
        }

        return new[] { "/proc/net/tcp", "/proc/net/tcp6" }
            .Select(ReadOrEmpty)
            .SelectMany(ParseListeners)
            .Where(l => inodes.Contains(l.Inode))
            .Select(l => l.Port)
            .Distinct()
            .Order()
            .ToList();
    }

    /// <summary>Parses a /proc/net/tcp or tcp6 table: the listening sockets' ports and inodes.</summary>
    public static IEnumerable<(int Port, long Inode)> ParseListeners(string table)
    {
        foreach (var line in table.Split('\n').Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 10 || fields[3] != ListenState)
            {
                continue;
            }

            var colon = fields[1].LastIndexOf(':');
            if (colon > 0
                && int.TryParse(fields[1].AsSpan(colon + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var port)
                && long.TryParse(fields[9], NumberStyles.None, CultureInfo.InvariantCulture, out var inode))
            {
                yield return (port, inode);
            }
        }
    }

    private static HashSet<long> SshdSocketInodes()
    {
        var inodes = new HashSet<long>();
        foreach (var process in SafeEnumerate("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(process), NumberStyles.None, CultureInfo.InvariantCulture, out _)
                || ReadOrEmpty(Path.Combine(process, "comm")).Trim() != "sshd")
            {
                continue;
            }

            foreach (var descriptor in SafeEnumerate(Path.Combine(process, "fd")))
            {
                try
                {
                    if (new FileInfo(descriptor).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal)
                        && long.TryParse(target.AsSpan(8, target.Length - 9), NumberStyles.None, CultureInfo.InvariantCulture, out var inode))
                    {
                        inodes.Add(inode);
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // The descriptor closed or the process ended while we looked.
                }
            }
        }

        return inodes;
    }

    private static IEnumerable<string> SafeEnumerate(string directory)
    {
        try
        {
            return Directory.GetFileSystemEntries(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
