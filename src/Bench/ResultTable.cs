namespace Nanobox.Bench;

/// <summary>A markdown table of samples: metric, n, median, p90, max, target, reference.</summary>
/// <param name="referenceHeader">What the reference column compares with.</param>
public sealed class ResultTable(string referenceHeader = "memberlist LAN defaults")
{
    private readonly List<string[]> _rows = [];

    public void Add(string metric, IReadOnlyCollection<double> samples, string target, string reference) =>
        _rows.Add([metric, $"{samples.Count}", Format(Stats.Median(samples)), Format(Stats.Percentile(samples, 0.9)), Format(samples.Max()), target, reference]);

    public async Task WriteAsync(TextWriter output)
    {
        await output.WriteLineAsync($"| metric | n | median | p90 | max | target | {referenceHeader} |");
        await output.WriteLineAsync("|---|---:|---:|---:|---:|---|---|");
        foreach (var row in _rows)
        {
            await output.WriteLineAsync($"| {string.Join(" | ", row)} |");
        }
    }

    private static string Format(double value) => value.ToString("F0");
}
