using System.Globalization;

namespace Nanobox.Node.Runtime.Docker;

/// <summary>The engine's RFC 3339 times, with nanoseconds (.NET parses at most 7 fractional digits).</summary>
internal static class EngineTime
{
    private static readonly string[] Formats = ["yyyy-MM-ddTHH:mm:ss.FFFFFFFK", "yyyy-MM-ddTHH:mm:ssK"];

    /// <summary>Null for text that is not a time, and for Go's zero time (never started, never finished).</summary>
    public static DateTimeOffset? Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var dot = text.IndexOf('.');
        var zone = text.IndexOfAny(['Z', '+', '-'], Math.Max(dot, 0) + 1);
        if (dot > 0 && zone > dot + 8)
        {
            text = string.Concat(text.AsSpan(0, dot + 8), text.AsSpan(zone));
        }

        return DateTimeOffset.TryParseExact(text, Formats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var time) && time.Year > 1
            ? time
            : null;
    }
}
