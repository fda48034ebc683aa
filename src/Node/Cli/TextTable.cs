namespace Nanobox.Node.Cli;

/// <summary>Plain-text output for people: aligned key/value lines and short durations.</summary>
public static class TextTable
{
    public static string Render(IReadOnlyList<(string Key, string Value)> rows)
    {
        var width = rows.Max(r => r.Key.Length) + 2;
        return string.Join('\n', rows.Select(r => r.Key.PadRight(width) + r.Value));
    }

    /// <summary>A table with a header row, columns padded to their widest cell.</summary>
    public static string Columns(IReadOnlyList<string> header, IReadOnlyList<string[]> rows)
    {
        var widths = header.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        return string.Join('\n', rows.Prepend([.. header]).Select(r => string.Join("  ", r.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd()));
    }

    public static string Duration(TimeSpan span) => span.TotalSeconds switch
    {
        < 60 => $"{(int)span.TotalSeconds}s",
        < 3600 => $"{span.Minutes}m {span.Seconds}s",
        < 86400 => $"{(int)span.TotalHours}h {span.Minutes}m",
        _ => $"{(int)span.TotalDays}d {span.Hours}h",
    };
}
