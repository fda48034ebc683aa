using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Nanobox.Node.Runtime.Placement;

/// <summary>What a node offers to instances: memory and CPU, reserved by placement.</summary>
/// <param name="MilliCpus">Thousandths of a CPU.</param>
public sealed record NodeCapacity(long MemoryBytes, int MilliCpus)
{
    /// <summary>Kept for the host, the agent and the engine: a tenth of the memory, at least 256 MiB.</summary>
    public const long MinReservedBytes = 256L * 1024 * 1024;

    /// <summary>This host: every CPU, and its memory (/proc/meminfo MemTotal) less the reserve.</summary>
    public static NodeCapacity Detect() => FromHost(Environment.ProcessorCount, ReadMemTotal());

    public static NodeCapacity FromHost(int processors, long memTotalBytes) =>
        new(Math.Max(0, memTotalBytes - Math.Max(MinReservedBytes, memTotalBytes / 10)), processors * 1000);

    /// <summary>MemTotal from /proc/meminfo, in bytes; 0 when it cannot be read.</summary>
    private static long ReadMemTotal()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            var kib = line?["MemTotal:".Length..].Trim().Split(' ')[0];
            return long.TryParse(kib, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value * 1024 : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}

/// <summary>
/// The labels a node gossips (in its NodeMeta): the operator's own (`[node] labels`, matched by constraints
/// such as <c>node.label.zone == a</c>) and, under the reserved <c>nanobox.</c> prefix, its capacity.
/// </summary>
public static partial class NodeLabels
{
    public const string ReservedPrefix = "nanobox.";
    public const string CpusKey = ReservedPrefix + "cpus";
    public const string MemoryKey = ReservedPrefix + "memory";

    /// <summary>
    /// Every label rides in each gossip alive message, whose metadata is capped at 512 bytes; the name,
    /// addresses, version, capacity and overlay take about 250 of them.
    /// </summary>
    public const int MaxOperatorBytes = 192;

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,62}$")]
    private static partial Regex Key();

    [GeneratedRegex("^[A-Za-z0-9._-]{1,63}$")]
    private static partial Regex Value();

    /// <summary>Why the operator's labels cannot be gossiped; null when they can.</summary>
    public static string? Check(IReadOnlyDictionary<string, string> labels)
    {
        foreach (var (key, value) in labels.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            if (!Key().IsMatch(key))
                return $"label key '{key}' is not valid: use 1-63 of a-z 0-9 . _ -, starting with a letter or digit";
            if (key.StartsWith(ReservedPrefix, StringComparison.Ordinal))
                return $"label key '{key}' starts with {ReservedPrefix}, which the agent keeps for the capacity it gossips; choose another key";
            if (!Value().IsMatch(value))
                return $"label {key} = '{value}' is not valid: give 1-63 of A-Z a-z 0-9 . _ - (constraints compare values without spaces)";
        }

        var size = labels.Sum(l => 2 + Encoding.UTF8.GetByteCount(l.Key) + Encoding.UTF8.GetByteCount(l.Value));
        return size > MaxOperatorBytes
            ? $"the labels take {size} bytes in every gossip message, above the {MaxOperatorBytes} allowed; use fewer or shorter labels"
            : null;
    }

    /// <summary>What the node gossips: the operator's labels and its capacity.</summary>
    public static IReadOnlyDictionary<string, string> Gossiped(IReadOnlyDictionary<string, string> operatorLabels, NodeCapacity capacity)
    {
        var labels = new Dictionary<string, string>(operatorLabels, StringComparer.Ordinal)
        {
            [CpusKey] = capacity.MilliCpus.ToString(CultureInfo.InvariantCulture),
            [MemoryKey] = capacity.MemoryBytes.ToString(CultureInfo.InvariantCulture),
        };
        return labels;
    }

    /// <summary>The operator's labels from gossiped ones (the reserved ones left out).</summary>
    public static ImmutableSortedDictionary<string, string> OperatorLabels(IReadOnlyDictionary<string, string> gossiped) =>
        gossiped.Where(l => !l.Key.StartsWith(ReservedPrefix, StringComparison.Ordinal)).ToImmutableSortedDictionary(StringComparer.Ordinal);

    /// <summary>The capacity a node gossips; null when it gossips none (an older agent) or nonsense.</summary>
    public static NodeCapacity? Capacity(IReadOnlyDictionary<string, string> gossiped) =>
        gossiped.TryGetValue(MemoryKey, out var memory) && long.TryParse(memory, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes)
        && gossiped.TryGetValue(CpusKey, out var cpus) && int.TryParse(cpus, NumberStyles.None, CultureInfo.InvariantCulture, out var milli)
            ? new NodeCapacity(bytes, milli)
            : null;
}
