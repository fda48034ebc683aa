using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Nanobox.Bench;

using Nanobox.Lab;

/// <summary>
/// Issue 6's deploy benchmark, in the lab on real processes: three hosts, each with its own dockerd and the
/// published nanobox, formed into a cluster. Per run, the same 30 containers (same image, same command) are
/// started twice, side by side: by `nanobox app deploy` of one component with 30 replicas, timed until
/// `nanobox ps --json` shows all 30 running; and by plain `docker run -d`, one after another, 10 on each
/// host's engine, timed until the last one returns. The order alternates between runs.
/// </summary>
public sealed class AppsDeployBenchmark
{
    private const int Hosts = 3;
    private const int Instances = 30;
    private const string App = "bench";
    private const string Command = "while true; do sleep 3600; done";
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan WaitLimit = TimeSpan.FromMinutes(5);

    private readonly Lab _lab;
    private readonly TextWriter _output;
    private readonly string _spec;

    private AppsDeployBenchmark(Lab lab, TextWriter output)
    {
        _lab = lab;
        _output = output;
        // Small limits, so placement (which reserves them) fits 30 on three hosts of this machine.
        _spec = $"app: {App}\nworker.bench:\n  image: {LabHost.TestImageTag}\n  command: {Command}\n  replicas: {Instances}\n  resources: {{ memory: 16M, cpus: 0.05, pids: 32 }}\n";
    }

    public static async Task<int> RunAsync(int runs, TextWriter output, CancellationToken ct)
    {
        await output.WriteLineAsync($"starting a lab of {Hosts} hosts with Docker (load average {LoadAverage.Read()})...");
        await using var lab = await Lab.StartAsync(new LabOptions { Hosts = Hosts, Docker = true }, ct);
        // Every engine has the image: both sides start containers, neither copies an image.
        await Task.WhenAll(lab.Hosts.Select(h => h.ImportTestImageAsync(ct)));
        await ClusterProbe.FormAsync([.. lab.Hosts], ct);
        var bench = new AppsDeployBenchmark(lab, output);
        await output.WriteLineAsync($"lab {lab.Id}: cluster of {Hosts} formed; {Instances} instances a run, `ps` polled every {PollInterval.TotalMilliseconds:0} ms");

        var (deploys, dockerRuns, ratios) = (new List<double>(), new List<double>(), new List<double>());
        for (var run = 0; run < runs; run++)
        {
            double deploy, docker;
            if (run % 2 == 0)
            {
                deploy = await bench.DeployAsync(ct);
                docker = await bench.DockerRunAsync(ct);
            }
            else
            {
                docker = await bench.DockerRunAsync(ct);
                deploy = await bench.DeployAsync(ct);
            }

            deploys.Add(deploy);
            dockerRuns.Add(docker);
            ratios.Add(deploy / docker);
            await output.WriteLineAsync($"run {run + 1}/{runs}: nanobox app deploy {deploy:0} ms, docker run x{Instances} {docker:0} ms, ratio {deploy / docker:0.00}");
        }

        var table = new ResultTable("baseline");
        table.Add($"`nanobox app deploy` of {Instances} instances → all `running` in `ps --json` (ms)", deploys, "", "");
        table.Add($"`docker run -d` x{Instances}, one by one, {Instances / Hosts} per host engine (ms)", dockerRuns, "", "baseline");
        await output.WriteLineAsync($"\nload average at the end: {LoadAverage.Read()}\n");
        await table.WriteAsync(output);
        await output.WriteLineAsync($"\nratio deploy / docker run, per run: {string.Join(", ", ratios.Select(r => r.ToString("0.00", CultureInfo.InvariantCulture)))}; median {Stats.Median(ratios).ToString("0.00", CultureInfo.InvariantCulture)}");
        return 0;
    }

    /// <summary>Deploys the spec through h1 and waits until `ps` lists every instance running; then removes the app (not timed).</summary>
    private async Task<double> DeployAsync(CancellationToken ct)
    {
        var h1 = _lab.Hosts[0];
        var file = Path.Combine(h1.Directory, $"{App}.yaml");
        await File.WriteAllTextAsync(file, _spec, ct);
        var start = Stopwatch.GetTimestamp();
        (await h1.NanoboxAsync(["app", "deploy", file], WaitLimit, ct)).EnsureSuccess();
        await ClusterProbe.EventuallyAsync(async () => await RunningAsync(h1, ct) == Instances ? "running" : null, _lab.Hosts, WaitLimit, PollInterval, ct);
        var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;

        (await h1.NanoboxAsync(["app", "rm", App], WaitLimit, ct)).EnsureSuccess();
        await ClusterProbe.EventuallyAsync(async () => await RunningAsync(h1, ct) == 0 && await ContainersAsync($"label=io.nanobox.app={App}", ct) == 0 ? "gone" : null,
            _lab.Hosts, WaitLimit, PollInterval, ct);
        return elapsed;
    }

    /// <summary>`docker run -d` of the same image and command, 10 on each host's engine, one at a time; then removes them (not timed).</summary>
    private async Task<double> DockerRunAsync(CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < Instances; i++)
        {
            var host = _lab.Hosts[i / (Instances / Hosts)];
            (await host.DockerAsync(["run", "-d", "--name", $"plain-{i}", "--label", "bench=plain", LabHost.TestImageTag, "/bin/sh", "-c", Command], null, ct)).EnsureSuccess();
        }

        var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        foreach (var host in _lab.Hosts)
        {
            var ids = (await host.DockerAsync(["ps", "-aq", "--filter", "label=bench=plain"], null, ct)).EnsureSuccess().Stdout
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            (await host.DockerAsync(["rm", "-f", .. ids], null, ct)).EnsureSuccess();
        }

        return elapsed;
    }

    private static async Task<int> RunningAsync(LabHost host, CancellationToken ct)
    {
        var ps = await host.NanoboxAsync(["ps", "--json"], TimeSpan.FromMinutes(1), ct);
        return ps.Succeeded
            ? JsonDocument.Parse(ps.Stdout).RootElement.EnumerateArray().Count(r => r.GetProperty("app").GetString() == App && r.GetProperty("state").GetString() == "running")
            : -1;
    }

    private async Task<int> ContainersAsync(string filter, CancellationToken ct)
    {
        var count = 0;
        foreach (var host in _lab.Hosts)
        {
            count += (await host.DockerAsync(["ps", "-aq", "--filter", filter], null, ct)).EnsureSuccess().Stdout
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        }

        return count;
    }
}
