using System.Text.Json;
using System.Text.Json.Serialization;
using Nanobox.Node.Runtime.Docker;

namespace Nanobox.Node.Runtime.Distribution;

/// <summary>
/// One frame of a log stream after the response (length-prefixed JSON, as every control frame): a batch of
/// lines, or the end, or the sender's failure. A frame with none of these is a heartbeat.
/// </summary>
internal sealed record LogFrame(ContainerLogLine[] Lines, bool End = false, string? Error = null)
{
    public static LogFrame Heartbeat { get; } = new([]);
}

/// <summary>
/// Gathers log lines into frames within <see cref="DataPathLimits"/>: a line longer than
/// <see cref="DataPathLimits.MaxLogLineChars"/> travels as several (never splitting a surrogate pair), and a
/// batch is full at <see cref="DataPathLimits.MaxLogBatchLines"/> lines or <see cref="DataPathLimits.MaxLogBatchChars"/> characters.
/// </summary>
internal sealed class LogBatch
{
    private readonly List<ContainerLogLine> _lines = [];
    private int _chars;

    public int Count => _lines.Count;

    public bool IsFull => _lines.Count >= DataPathLimits.MaxLogBatchLines || _chars >= DataPathLimits.MaxLogBatchChars;

    public void Add(ContainerLogLine line)
    {
        var text = line.Text;
        while (text.Length > DataPathLimits.MaxLogLineChars)
        {
            var cut = char.IsHighSurrogate(text[DataPathLimits.MaxLogLineChars - 1]) ? DataPathLimits.MaxLogLineChars - 1 : DataPathLimits.MaxLogLineChars;
            Append(line with { Text = text[..cut] });
            text = text[cut..];
        }

        Append(text.Length == line.Text.Length ? line : line with { Text = text });
    }

    /// <summary>The batch as a frame; the batch is empty again.</summary>
    public LogFrame Take()
    {
        var frame = new LogFrame([.. _lines]);
        _lines.Clear();
        _chars = 0;
        return frame;
    }

    private void Append(ContainerLogLine line)
    {
        _lines.Add(line);
        _chars += line.Text.Length;
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(LogFrame))]
internal sealed partial class DistributionJsonContext : JsonSerializerContext;
