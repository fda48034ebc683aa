namespace Nanobox.Bench;

/// <summary>
/// The foundation's numbers, candidate and baseline side by side in one run: exec to READY, exec to
/// an answered status request, idle RSS after 30 s, binary and package size.
/// </summary>
public static class FoundationBenchmark
{
    private static readonly TimeSpan IdleTime = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(string candidate, string baseline, string deb, int runs, TextWriter output)
    {
        var binaries = new[] { candidate, baseline };
        var ready = binaries.ToDictionary(b => b, _ => new List<double>());
        var answering = binaries.ToDictionary(b => b, _ => new List<double>());

        // Alternate the two so that machine noise falls on both alike; the first run of each warms the page cache.
        for (var run = 0; run <= runs; run++)
        {
            foreach (var binary in binaries)
            {
                using var timeout = new CancellationTokenSource(StartTimeout);
                await using var agent = AgentUnderTest.Start(binary);
                var readyAfter = await agent.WaitReadyAsync(timeout.Token);
                var answeredAfter = await agent.WaitAnsweringAsync(timeout.Token);
                if (run > 0)
                {
                    ready[binary].Add(readyAfter.TotalMilliseconds);
                    answering[binary].Add(answeredAfter.TotalMilliseconds);
                }
            }
        }

        await output.WriteLineAsync($"measuring idle RSS: both agents idle for {IdleTime.TotalSeconds:0} s after their first status request...");
        var idle = new Dictionary<string, long>();
        var agents = binaries.Select(AgentUnderTest.Start).ToList();
        try
        {
            using var timeout = new CancellationTokenSource(StartTimeout);
            foreach (var agent in agents)
            {
                await agent.WaitAnsweringAsync(timeout.Token);
            }

            await Task.Delay(IdleTime);
            for (var i = 0; i < agents.Count; i++)
            {
                idle[binaries[i]] = agents[i].ResidentBytes();
            }
        }
        finally
        {
            foreach (var agent in agents)
            {
                await agent.DisposeAsync();
            }
        }

        var rows = new List<string[]>
        {
            Row($"exec to READY=1, median of {runs} (ms)", Stats.Median(ready[candidate]), Stats.Median(ready[baseline]), "< 100", "F1"),
            Row($"exec to READY=1, p90 (ms)", Stats.Percentile(ready[candidate], 0.9), Stats.Percentile(ready[baseline], 0.9), "", "F1"),
            Row($"exec to answered status, median of {runs} (ms)", Stats.Median(answering[candidate]), Stats.Median(answering[baseline]), "< 100", "F1"),
            Row("idle RSS after 30 s (MB)", Megabytes(idle[candidate]), Megabytes(idle[baseline]), "< 40", "F1"),
            Row("binary size (MB)", Megabytes(new FileInfo(candidate).Length), Megabytes(new FileInfo(baseline).Length), "< 40", "F1"),
            new[] { "package size (MB)", Megabytes(new FileInfo(deb).Length).ToString("F1"), "", "", "" },
        };

        await output.WriteLineAsync();
        await output.WriteLineAsync("| metric | nanobox (Native AOT) | baseline (same code, JIT single-file) | AOT / baseline | target |");
        await output.WriteLineAsync("|---|---:|---:|---:|---|");
        foreach (var row in rows)
        {
            await output.WriteLineAsync($"| {string.Join(" | ", row)} |");
        }

        return 0;
    }

    private static string[] Row(string metric, double candidate, double baseline, string target, string format) =>
        [metric, candidate.ToString(format), baseline.ToString(format), (candidate / baseline).ToString("F2"), target];

    private static double Megabytes(long bytes) => bytes / 1024.0 / 1024.0;
}
