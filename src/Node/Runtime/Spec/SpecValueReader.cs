using System.Collections.Immutable;
using System.Globalization;

namespace Nanobox.Node.Runtime.Spec;

/// <summary>
/// Typed reads of <see cref="SpecNode"/>s: each returns the value, or null after reporting what was
/// wrong and what to give instead. A <see cref="SpecRefused"/> node yields null silently (it is reported).
/// </summary>
internal sealed class SpecValueReader(SpecErrors errors)
{
    public void Refuse(string path, SourcePosition at, string problem, string fix) => errors.Add(path, at, problem, fix);

    /// <summary>A scalar with a value. <paramref name="expected"/> completes "give ...", e.g. "a number such as 2".</summary>
    public SpecScalar? Scalar(SpecNode node, string path, string expected)
    {
        if (node is SpecScalar { IsNull: false } scalar)
            return scalar;
        ReportWrongShape(node, path, expected);
        return null;
    }

    public string? Text(SpecNode node, string path, string expected) => Scalar(node, path, expected)?.Text;

    public SpecMap? Map(SpecNode node, string path, string expected)
    {
        if (node is SpecMap map)
            return map;
        ReportWrongShape(node, path, expected);
        return null;
    }

    public SpecList? List(SpecNode node, string path, string expected)
    {
        if (node is SpecList list)
            return list;
        ReportWrongShape(node, path, expected);
        return null;
    }

    /// <summary>A whole number in [min, max], written without quotes.</summary>
    public int? Integer(SpecNode node, string path, int min, int max)
    {
        var range = $"a whole number from {min} to {max}";
        if (Scalar(node, path, range) is not { } scalar)
            return null;
        if (!scalar.IsPlain)
        {
            Refuse(path, scalar.Position, $"\"{scalar.Text}\" is quoted, so it is text", "write the number without quotes");
            return null;
        }

        if (!long.TryParse(scalar.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            Refuse(path, scalar.Position, $"{scalar.Text} is not a whole number", $"give {range}");
            return null;
        }

        if (value < min || value > max)
        {
            Refuse(path, scalar.Position, $"{scalar.Text} is out of range", $"give {min} to {max}");
            return null;
        }

        return (int)value;
    }

    /// <summary>
    /// The entries of <paramref name="map"/> whose keys are in <paramref name="known"/>; every other key
    /// is reported, with the closest known key when one is near.
    /// </summary>
    public Dictionary<string, SpecEntry> KnownEntries(SpecMap map, string path, IReadOnlyList<string> known)
    {
        var found = new Dictionary<string, SpecEntry>(StringComparer.Ordinal);
        foreach (var entry in map.Entries)
        {
            if (known.Contains(entry.Key))
            {
                found.Add(entry.Key, entry);
                continue;
            }

            var closest = KeySuggestion.Closest(entry.Key, known);
            Refuse(SpecPath.Join(path, entry.Key), entry.KeyPosition, "is not a known key",
                closest is null ? $"remove it; known keys here: {string.Join(", ", known)}" : $"did you mean {closest}?");
        }

        return found;
    }

    /// <summary>A mapping of names to text values (env, labels): keys checked by <paramref name="checkKey"/>, values any scalar, kept as written.</summary>
    public ImmutableSortedDictionary<string, string> StringMap(SpecNode node, string path, string expected, Func<string, (string Problem, string Fix)?> checkKey)
    {
        var result = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        if (Map(node, path, expected) is not { } map)
            return result.ToImmutable();
        foreach (var entry in map.Entries)
        {
            var entryPath = SpecPath.Join(path, entry.Key);
            if (checkKey(entry.Key) is { } bad)
                Refuse(entryPath, entry.KeyPosition, bad.Problem, bad.Fix);
            else if (Text(entry.Value, entryPath, "a value, or \"\" for an empty one") is { } value)
                result.Add(entry.Key, value);
        }

        return result.ToImmutable();
    }

    /// <summary>
    /// Each item of a list read by <paramref name="readItem"/> (null: reported); an empty list is refused,
    /// and so is a repeated item when <paramref name="unique"/>.
    /// </summary>
    public ImmutableArray<T> Items<T>(SpecNode node, string path, string expected, int maxItems, bool unique, Func<SpecNode, string, T?> readItem)
        where T : class
    {
        if (List(node, path, expected) is not { } list)
            return [];
        if (list.Items.Length == 0)
        {
            Refuse(path, list.Position, "is an empty list", $"give {expected}, or remove the key");
            return [];
        }

        if (list.Items.Length > maxItems)
        {
            Refuse(path, list.Position, $"has {list.Items.Length} items", $"give at most {maxItems}");
            return [];
        }

        var items = ImmutableArray.CreateBuilder<T>(list.Items.Length);
        var firstLines = new Dictionary<T, int>();
        for (var i = 0; i < list.Items.Length; i++)
        {
            var itemNode = list.Items[i];
            if (readItem(itemNode, $"{path}[{i}]") is not { } item)
                continue;
            if (unique && !firstLines.TryAdd(item, itemNode.Position.Line))
                Refuse($"{path}[{i}]", itemNode.Position, $"{item} is listed twice (first on line {firstLines[item]})", "list it once");
            else
                items.Add(item);
        }

        return items.ToImmutable();
    }

    private void ReportWrongShape(SpecNode node, string path, string expected)
    {
        var problem = node switch
        {
            SpecRefused => null,
            SpecScalar { IsNull: true } => "has no value",
            SpecScalar { Text: var text } => $"{(text.Length > 40 ? text[..40] + "..." : text)} is a single value",
            SpecList => "is a list",
            SpecMap => "is a mapping",
            _ => throw new ArgumentOutOfRangeException(nameof(node)),
        };
        if (problem is not null)
            Refuse(path, node.Position, problem, $"give {expected}");
    }
}

/// <summary>"Did you mean": the known key within a small edit distance of a typo.</summary>
internal static class KeySuggestion
{
    public static string? Closest(string typed, IEnumerable<string> known) =>
        known
            .Select(k => (Key: k, Distance: Distance(typed.ToLowerInvariant(), k.ToLowerInvariant())))
            .Where(static c => c.Distance <= Math.Max(1, c.Key.Length / 4))
            .OrderBy(static c => c.Distance)
            .ThenBy(static c => c.Key, StringComparer.Ordinal)
            .Select(static c => c.Key)
            .FirstOrDefault();

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1.</summary>
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
            d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++)
            d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }

        return d[a.Length, b.Length];
    }
}
