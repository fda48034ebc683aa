using System.Text;

namespace Nanobox.Node.Runtime.Docker;

/// <summary>
/// Turns the engine's demultiplexed log chunks into lines: a chunk may end mid-line (or mid-character),
/// so each stream keeps its own unfinished bytes until the newline comes. Each line starts with the
/// engine's RFC 3339 timestamp (logs are always read with timestamps), which is parsed off.
/// </summary>
internal sealed class LogLineSplitter
{
    private readonly MemoryStream _stdout = new();
    private readonly MemoryStream _stderr = new();

    public IEnumerable<ContainerLogLine> Add(ContainerLogStream stream, ReadOnlySpan<byte> chunk)
    {
        var pending = Pending(stream);
        var lines = new List<ContainerLogLine>();
        int newline;
        while ((newline = chunk.IndexOf((byte)'\n')) >= 0)
        {
            pending.Write(chunk[..newline]);
            lines.Add(Line(stream, pending));
            chunk = chunk[(newline + 1)..];
        }

        pending.Write(chunk);
        return lines;
    }

    /// <summary>At the end of the stream: what is left of each stream's last line, if anything.</summary>
    public IEnumerable<ContainerLogLine> Flush()
    {
        foreach (var stream in new[] { ContainerLogStream.StandardOutput, ContainerLogStream.StandardError })
        {
            if (Pending(stream).Length > 0)
            {
                yield return Line(stream, Pending(stream));
            }
        }
    }

    /// <summary>Splits <c>2024-05-01T10:00:00.123456789Z text</c>; a line without a timestamp keeps all its text.</summary>
    internal static (DateTimeOffset? Time, string Text) ParseTimestamp(string line)
    {
        var space = line.IndexOf(' ');
        return EngineTime.Parse(space > 0 ? line[..space] : line) is { } time
            ? (time, space > 0 ? line[(space + 1)..] : "")
            : (null, line);
    }

    private MemoryStream Pending(ContainerLogStream stream) => stream == ContainerLogStream.StandardError ? _stderr : _stdout;

    private static ContainerLogLine Line(ContainerLogStream stream, MemoryStream pending)
    {
        var (time, text) = ParseTimestamp(Encoding.UTF8.GetString(pending.GetBuffer(), 0, (int)pending.Length));
        pending.SetLength(0);
        return new ContainerLogLine(stream, time, text);
    }
}
