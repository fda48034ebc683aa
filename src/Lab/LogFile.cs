namespace Nanobox.Lab;

/// <summary>Reading logs that a daemon is still appending to.</summary>
internal static class LogFile
{
    public static string Read(string path, long from = 0)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            stream.Seek(Math.Min(from, stream.Length), SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (FileNotFoundException)
        {
            return "";
        }
        catch (DirectoryNotFoundException)
        {
            return "";
        }
    }

    public static long Length(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    /// <summary>The last lines of the log: what a timeout message needs to be diagnosable.</summary>
    public static string Tail(string path, int lines = 40)
    {
        var all = Read(path).TrimEnd('\n').Split('\n');
        var tail = string.Join('\n', all.TakeLast(lines));
        return tail.Length == 0 ? $"({path} is empty)" : tail;
    }

    /// <summary>Polls until a complete line at or after <paramref name="from"/> matches.</summary>
    public static async Task<string> WaitForLineAsync(string path, long from, Func<string, bool> match, TimeSpan timeout,
        string what, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var text = Read(path, from);
            // Only whole lines: a half-written line could match a prefix of what it will say.
            var complete = text[..(text.LastIndexOf('\n') + 1)];
            var hit = complete.Split('\n').FirstOrDefault(l => l.Length > 0 && match(l));
            if (hit is not null)
            {
                return hit;
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new LabTimeoutException($"no line of {path} matched ({what}) within {timeout.TotalSeconds:0.#} s", Tail(path));
            }

            await Task.Delay(100, ct);
        }
    }
}
