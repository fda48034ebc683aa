using System.Globalization;
using System.Text.RegularExpressions;

namespace Nanobox.Node.Runtime.Spec;

/// <summary>The syntax of spec values, and the parsing of quantities (memory, CPUs, durations).</summary>
internal static partial class SpecFormats
{
    public const string NameRule = "[a-z][a-z0-9-]{0,30}: a lower-case letter, then up to 30 lower-case letters, digits or -";

    public const long MinMemoryBytes = 6L * 1024 * 1024;
    public const long MaxMemoryBytes = 1024L * 1024 * 1024 * 1024;
    public const int MinMilliCpus = 10;
    public const int MaxMilliCpus = 256_000;
    public static readonly TimeSpan MinBackoff = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromHours(1);

    /// <summary>App and component names: they end up in container names, DNS labels and paths.</summary>
    [GeneratedRegex("^[a-z][a-z0-9-]{0,30}$")]
    public static partial Regex Name();

    /// <summary>POSIX portable environment variable names.</summary>
    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    public static partial Regex EnvKey();

    [GeneratedRegex("^[a-z0-9._-]{1,128}$")]
    public static partial Regex LabelKey();

    /// <summary>Docker's image reference grammar (distribution/reference): [domain[:port]/]path[:tag][@digest].</summary>
    [GeneratedRegex(
        @"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?" +
        @"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*" +
        @"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?" +
        @"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$")]
    public static partial Regex ImageReference();

    [GeneratedRegex("^([0-9]{1,6})(?:/([A-Za-z]+))?$")]
    public static partial Regex Port();

    [GeneratedRegex("^([0-9]{1,10})(?::([0-9]{1,10}))?$")]
    public static partial Regex User();

    [GeneratedRegex(@"^\s*(node\.id|node\.name|node\.label\.[A-Za-z0-9._-]+)\s*(==|!=)\s*(\S+)\s*$")]
    public static partial Regex Constraint();

    [GeneratedRegex("^([0-9]{1,13})([KMG]?)$", RegexOptions.IgnoreCase)]
    private static partial Regex Memory();

    [GeneratedRegex("^([0-9]{0,6})(?:\\.([0-9]+))?$")]
    private static partial Regex Cpus();

    [GeneratedRegex("^(?:([0-9]{1,4})h)?(?:([0-9]{1,6})m)?(?:([0-9]{1,8})s)?$")]
    private static partial Regex Duration();

    /// <summary><c>128M</c> -> bytes (K, M, G are powers of 1024; no suffix: bytes).</summary>
    public static long? ParseMemory(string text)
    {
        var m = Memory().Match(text);
        if (!m.Success)
            return null;
        var shift = char.ToUpperInvariant(m.Groups[2].Value is [var unit] ? unit : 'B') switch
        {
            'K' => 10,
            'M' => 20,
            'G' => 30,
            _ => 0,
        };
        var number = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return number > MaxMemoryBytes >> shift ? long.MaxValue : number << shift;
    }

    /// <summary><c>0.5</c> -> 500 milli-CPUs; null when not a decimal number or finer than 0.001.</summary>
    public static int? ParseMilliCpus(string text)
    {
        var m = Cpus().Match(text);
        if (!m.Success || text is "" or "." || m.Groups[2].Value.TrimEnd('0').Length > 3)
            return null;
        var whole = m.Groups[1].Value.Length == 0 ? 0 : int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        var fraction = m.Groups[2].Value.TrimEnd('0').PadRight(3, '0');
        return whole * 1000 + int.Parse(fraction, CultureInfo.InvariantCulture);
    }

    /// <summary><c>1h30m</c>, <c>5m</c>, <c>90s</c> -> a duration; null when not that form.</summary>
    public static TimeSpan? ParseDuration(string text)
    {
        var m = Duration().Match(text);
        if (!m.Success || text.Length == 0)
            return null;
        static long Part(Group g) => g.Success ? long.Parse(g.Value, CultureInfo.InvariantCulture) : 0;
        return TimeSpan.FromSeconds(Part(m.Groups[1]) * 3600 + Part(m.Groups[2]) * 60 + Part(m.Groups[3]));
    }

    /// <summary>Bytes as people read them: <c>512 MiB</c>, <c>1.5 GiB</c>, <c>300 KiB</c>.</summary>
    public static string FormatBytes(long bytes)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
        var value = (double)bytes;
        var unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{Math.Round(value, 1)} {units[unit]}");
    }

    /// <summary>Milli-CPUs as a spec writes them: 500 -> <c>0.5</c>.</summary>
    public static string FormatCpus(int milliCpus) =>
        (milliCpus / 1000m).ToString("0.###", CultureInfo.InvariantCulture);
}
