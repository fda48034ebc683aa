using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Nanobox.Bench;

using Nanobox.Lab;

/// <summary>
/// Issue 5's throughput target: TCP from a container on one host to a container on another over the overlay,
/// against host to host on the underlay, in the same run. iperf3 is the Debian package's binary, run inside
/// each network namespace with nsenter (the busybox test image has none), so it uses the container's own
/// interface and overlay address. Two lab hosts with Docker form a cluster, so the firewall is active and the
/// overlay's datagrams take the product's path (notrack); the paths alternate within each run, so machine
/// noise falls on all of them. A second phase of diagnostics stops the agents (the devices and the firewall
/// stay) and changes one device setting per path for each of its runs: tx checksum offload on the VXLAN
/// devices (which a running agent would turn off again), and TSO/GSO off on the sender's underlay veth.
/// </summary>
public sealed class OverlayThroughputBenchmark
{
    private const string Iperf = "/usr/bin/iperf3";
    private const int Port = 5201;
    private const string VxlanDevice = "nanobox-vx";
    private const int TcpIpHeaders = 40;
    private static readonly string[] Features =
        ["tx-checksumming", "tx-tcp-segmentation", "generic-segmentation-offload", "generic-receive-offload", "tx-udp_tnl-segmentation"];

    /// <summary>A network namespace iperf3 runs in (a lab host's or a container's) and the address it is reached at.</summary>
    private sealed record Site(string Name, string NamespacePath, IPAddress Address)
    {
        public Task<CommandResult> RunAsync(string file, IEnumerable<string> args, CancellationToken ct) =>
            ProcessRunner.RunAsync("nsenter", [$"--net={NamespacePath}", "--", file, .. args], ct: ct);

        public async Task<int> MtuAsync(CancellationToken ct) =>
            JsonDocument.Parse((await RunAsync("ip", ["-j", "link", "show", "dev", "eth0"], ct)).EnsureSuccess().Stdout)
                .RootElement[0].GetProperty("mtu").GetInt32();
    }

    /// <summary>One measured path: iperf3 -c from <paramref name="Client"/> to <paramref name="Server"/>, with extra client options.</summary>
    private sealed record TcpPath(string Name, Site Client, Site Server, int Mtu, params string[] Options)
    {
        public List<Sample> Samples { get; } = [];

        /// <summary>A device setting changed for each of this path's iperf3 runs and restored after it.</summary>
        public EthtoolSetting? Setting { get; init; }
    }

    private sealed record EthtoolSetting(Site[] Sites, string Device, string[] Change, string[] Restore)
    {
        public Task ApplyAsync(CancellationToken ct) => SetAsync(Change, ct);

        public Task RestoreAsync(CancellationToken ct) => SetAsync(Restore, ct);

        private async Task SetAsync(string[] features, CancellationToken ct)
        {
            foreach (var site in Sites)
            {
                (await site.RunAsync("ethtool", ["-K", Device, .. features], ct)).EnsureSuccess();
            }
        }
    }

    /// <summary>One iperf3 run: receiver goodput, CPU of the sending and receiving iperf3, the machine's and its busiest core's busy share, sender retransmits.</summary>
    private sealed record Sample(double Gbits, double SenderCpu, double ReceiverCpu, double MachineBusy, double BusiestCore, long Retransmits);

    private readonly int _seconds;
    private readonly TextWriter _output;
    private readonly string _pidDir = Directory.CreateTempSubdirectory("nanobox-iperf-").FullName;

    private OverlayThroughputBenchmark(int seconds, TextWriter output)
    {
        _seconds = seconds;
        _output = output;
    }

    public static async Task<int> RunAsync(int runs, int seconds, TextWriter output, CancellationToken ct)
    {
        await output.WriteLineAsync($"machine: {Environment.ProcessorCount} cores, kernel {Environment.OSVersion.Version}, load average {LoadAverage.Read()}, " +
            $"{(await ProcessRunner.RunAsync(Iperf, ["--version"], ct: ct)).Stdout.Split('\n')[0].Trim()}");
        await using var lab = await Lab.StartAsync(new LabOptions { Hosts = 2, Docker = true }, ct);
        var (h1, h2) = (lab.Hosts[0], lab.Hosts[1]);
        var bench = new OverlayThroughputBenchmark(seconds, output);
        try
        {
            var (underlay, overlay, mss) = await bench.PrepareAsync(h1, h2, ct);
            var (host1, host2) = (underlay.Server, underlay.Client);
            TcpPath[] main = [underlay, overlay, mss];
            await bench.MeasureAsync(main, runs, ct);

            await output.WriteLineAsync("stopping both agents (devices and firewall stay), so that settings they would correct hold for the diagnostics...");
            await Task.WhenAll(h1.Node.StopAsync(ct: ct), h2.Node.StopAsync(ct: ct));
            await output.WriteLineAsync($"firewall table after the stop: {await FirewallTableAsync(h1, ct)} on h1, {await FirewallTableAsync(h2, ct)} on h2");
            TcpPath[] diagnostics =
            [
                new($"{underlay.Name}, agents stopped (control)", underlay.Client, underlay.Server, underlay.Mtu),
                new($"{overlay.Name}, agents stopped (control)", overlay.Client, overlay.Server, overlay.Mtu),
                new($"{overlay.Name}, agents stopped, tx checksum offload on {VxlanDevice}", overlay.Client, overlay.Server, overlay.Mtu)
                {
                    Setting = new EthtoolSetting([host1, host2], VxlanDevice, ["tx", "on"], ["tx", "off"]),
                },
                new($"{underlay.Name}, TSO and GSO off on h2's eth0", underlay.Client, underlay.Server, underlay.Mtu)
                {
                    Setting = new EthtoolSetting([host2], "eth0", ["tso", "off", "gso", "off"], ["tso", "on", "gso", "on"]),
                },
            ];
            await bench.MeasureAsync(diagnostics, runs, ct);

            await output.WriteLineAsync("the same VXLAN data path built bare (no nanobox, no Docker, no firewall) in scratch namespaces...");
            await using var bare = await BareOverlay.CreateAsync(ct);
            var bareSites = await bench.StartBareAsync(bare, ct);
            TcpPath[] kernel =
            [
                new("bare kernel: host → host, underlay (veth through a bridge)", bareSites.Host2, bareSites.Host1, BareOverlay.UnderlayMtu),
                new("bare kernel: container → container, VXLAN, tx checksum offload off (the issue's setting)", bareSites.Container2, bareSites.Container1, BareOverlay.OverlayMtu),
                new("bare kernel: container → container, VXLAN, tx checksum offload on", bareSites.Container2, bareSites.Container1, BareOverlay.OverlayMtu)
                {
                    Setting = new EthtoolSetting([bareSites.Host1, bareSites.Host2], BareOverlay.VxlanDevice, ["tx", "on"], ["tx", "off"]),
                },
            ];
            await bench.MeasureAsync(kernel, runs, ct);

            await output.WriteLineAsync($"\nload average at the end: {LoadAverage.Read()}\n");
            await output.WriteLineAsync("Product path (agents running), and the underlay at the overlay's MSS:\n");
            await WriteTableAsync(output, main);
            await output.WriteLineAsync("\nDiagnostics (agents stopped), against the underlay of the same phase:\n");
            await WriteTableAsync(output, diagnostics);
            await output.WriteLineAsync("\nThe kernel alone (scratch namespaces, the underlay veth through a bridge as in the lab), against its own underlay:\n");
            await WriteTableAsync(output, kernel);
            var ratio = Stats.Median(overlay.Samples.Select(s => s.Gbits)) / Stats.Median(underlay.Samples.Select(s => s.Gbits));
            await output.WriteLineAsync($"\noverlay / underlay: {ratio:P0} (target at least 90 %: {(ratio >= 0.9 ? "met" : "NOT met")})");
            return 0;
        }
        finally
        {
            bench.StopServers();
        }
    }

    /// <summary>
    /// Forms the cluster, lets iperf3 through the firewall on the underlay (as an operator would), starts a
    /// container on each host's overlay and an iperf3 server on h1 and in h1's container.
    /// </summary>
    private async Task<(TcpPath Underlay, TcpPath Overlay, TcpPath UnderlayAtOverlayMss)> PrepareAsync(LabHost h1, LabHost h2, CancellationToken ct)
    {
        LabHost[] hosts = [h1, h2];
        await Task.WhenAll(hosts.Select(h => h.ImportTestImageAsync(ct)));
        await ClusterProbe.FormAsync(hosts, ct);
        await OverlayProbe.ConvergeAsync(hosts, endpointsEach: 1);
        (await h1.NanoboxAsync(["firewall", "allow", $"{Port}/tcp", "--from", $"{h2.Address}/32"], null, ct)).EnsureSuccess();

        var sites = new List<Site>();
        foreach (var host in hosts)
        {
            var address = await OverlayProbe.AddressInBlockAsync(host, 10);
            await OverlayProbe.RunContainerAsync(host, "iperf", address, "sleep 1000000");
            var pid = (await host.DockerAsync("inspect", "-f", "{{.State.Pid}}", "iperf")).EnsureSuccess().Stdout.Trim();
            sites.Add(new Site($"{host.Name}", host.NamespacePath, host.Address));
            sites.Add(new Site($"{host.Name}'s container", $"/proc/{pid}/ns/net", address));
        }

        await OverlayProbe.ConvergeAsync(hosts, endpointsEach: 2);
        foreach (var host in hosts)
        {
            var firewall = JsonDocument.Parse((await host.NanoboxAsync(["firewall", "show", "--json"], null, ct)).EnsureSuccess().Stdout).RootElement;
            var notrack = (await host.RunAsync("nft", ["list", "chain", "inet", "nanobox", "raw_prerouting"], ct: ct)).EnsureSuccess().Stdout;
            await _output.WriteLineAsync($"{host.Name}: firewall {firewall.GetProperty("state").GetString()}, VXLAN notrack rule {(notrack.Contains("notrack", StringComparison.Ordinal) ? "present" : "MISSING")}");
        }

        var (host1, container1, host2, container2) = (sites[0], sites[1], sites[2], sites[3]);
        foreach (var site in new[] { host1, container1, host2, container2 })
        {
            await _output.WriteLineAsync($"{site.Name} eth0: {await FeaturesAsync(site, "eth0", ct)}");
        }

        await _output.WriteLineAsync($"h1 {VxlanDevice}: {await FeaturesAsync(host1, VxlanDevice, ct)}");
        await StartServersAsync([host1, container1], ct);

        var underlayMtu = Math.Min(await host1.MtuAsync(ct), await host2.MtuAsync(ct));
        var overlayMtu = Math.Min(await container1.MtuAsync(ct), await container2.MtuAsync(ct));
        return (
            new TcpPath("host h2 → host h1, underlay", host2, host1, underlayMtu),
            new TcpPath("container on h2 → container on h1, overlay", container2, container1, overlayMtu),
            new TcpPath($"host h2 → host h1, underlay, MSS of the overlay (-M {overlayMtu - TcpIpHeaders})", host2, host1, underlayMtu, "-M", $"{overlayMtu - TcpIpHeaders}"));
    }

    /// <summary>The bare data path's hosts and containers, with an iperf3 server on host 1 and in container 1.</summary>
    private async Task<(Site Host1, Site Container1, Site Host2, Site Container2)> StartBareAsync(BareOverlay bare, CancellationToken ct)
    {
        Site Bare(string name, (string Path, IPAddress Address) ns) => new(name, ns.Path, ns.Address);
        var (host1, container1) = (Bare("bare host 1", bare.Hosts[0]), Bare("bare container 1", bare.Containers[0]));
        await _output.WriteLineAsync($"{host1.Name} {BareOverlay.VxlanDevice}: {await FeaturesAsync(host1, BareOverlay.VxlanDevice, ct)}");
        await StartServersAsync([host1, container1], ct);
        return (host1, container1, Bare("bare host 2", bare.Hosts[1]), Bare("bare container 2", bare.Containers[1]));
    }

    private async Task StartServersAsync(IEnumerable<Site> servers, CancellationToken ct)
    {
        foreach (var server in servers)
        {
            (await server.RunAsync(Iperf, ["-s", "-D", "-p", $"{Port}", "-B", server.Address.ToString(), "--pidfile", PidFile(server)], ct)).EnsureSuccess();
        }
    }

    /// <summary><paramref name="runs"/> rounds; each round measures every path once, in turn, after a short untimed warm-up of each.</summary>
    private async Task MeasureAsync(IReadOnlyList<TcpPath> paths, int runs, CancellationToken ct)
    {
        foreach (var path in paths)
        {
            (await IperfAsync(path, 1, ct)).EnsureSuccess();
        }

        for (var run = 0; run < runs; run++)
        {
            foreach (var path in paths)
            {
                path.Samples.Add(await SampleAsync(path, run, runs, ct));
            }
        }
    }

    private async Task<Sample> SampleAsync(TcpPath path, int run, int runs, CancellationToken ct)
    {
        var before = MachineCpu.Read();
        var report = await ReportAsync(path, ct);
        var (machine, core) = MachineCpu.Read().BusySince(before);
        var cpu = report.GetProperty("cpu_utilization_percent");
        var sample = new Sample(
            report.GetProperty("sum_received").GetProperty("bits_per_second").GetDouble() / 1e9,
            cpu.GetProperty("host_total").GetDouble(),
            cpu.GetProperty("remote_total").GetDouble(),
            machine,
            core,
            report.GetProperty("sum_sent").GetProperty("retransmits").GetInt64());
        await _output.WriteLineAsync($"run {run + 1}/{runs}, {path.Name}: {sample.Gbits:F2} Gbit/s, machine {sample.MachineBusy:F0} % busy (busiest core {sample.BusiestCore:F0} %), {sample.Retransmits} retransmits");
        return sample;
    }

    /// <summary>
    /// The "end" section of a complete iperf3 report. A run that ended without one (iperf3's "error", e.g.
    /// the server still busy with the previous test on a loaded machine) is said and repeated, up to 3 times.
    /// </summary>
    private async Task<JsonElement> ReportAsync(TcpPath path, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var result = await IperfAsync(path, _seconds, ct);
            var report = JsonDocument.Parse(result.Stdout).RootElement;
            if (report.TryGetProperty("end", out var end) && end.TryGetProperty("cpu_utilization_percent", out _))
            {
                return end;
            }

            var reason = report.TryGetProperty("error", out var error) ? error.GetString() : $"no complete report (exit {result.ExitCode})";
            if (attempt == 3)
            {
                throw new InvalidOperationException($"iperf3, {path.Name}: {reason}\n{result.Stdout}");
            }

            await _output.WriteLineAsync($"iperf3, {path.Name}: {reason}; again");
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
        }
    }

    private static async Task<CommandResult> IperfAsync(TcpPath path, int seconds, CancellationToken ct)
    {
        if (path.Setting is { } setting)
        {
            await setting.ApplyAsync(ct);
        }

        try
        {
            return await path.Client.RunAsync(Iperf, ["-c", path.Server.Address.ToString(), "-p", $"{Port}", "-t", $"{seconds}", "-J", .. path.Options], ct);
        }
        finally
        {
            if (path.Setting is { } restore)
            {
                await restore.RestoreAsync(ct);
            }
        }
    }

    /// <summary>One row a path; the first path is the baseline the others are divided by.</summary>
    private static async Task WriteTableAsync(TextWriter output, IReadOnlyList<TcpPath> paths)
    {
        var reference = Stats.Median(paths[0].Samples.Select(s => s.Gbits));
        await output.WriteLineAsync("| path | MTU | n | median Gbit/s | min | max | / underlay | sender iperf3 CPU % | receiver iperf3 CPU % | machine busy % | busiest core % | retransmits |");
        await output.WriteLineAsync("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var path in paths)
        {
            var gbits = path.Samples.Select(s => s.Gbits).ToList();
            var median = Stats.Median(gbits);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"| {path.Name} | {path.Mtu} | {gbits.Count} | {median:F2} | {gbits.Min():F2} | {gbits.Max():F2} | {median / reference:P0} | " +
                $"{Stats.Median(path.Samples.Select(s => s.SenderCpu)):F0} | {Stats.Median(path.Samples.Select(s => s.ReceiverCpu)):F0} | " +
                $"{Stats.Median(path.Samples.Select(s => s.MachineBusy)):F0} | {Stats.Median(path.Samples.Select(s => s.BusiestCore)):F0} | {Stats.Median(path.Samples.Select(s => (double)s.Retransmits)):F0} |"));
        }
    }

    /// <summary>
    /// The offload features that decide how many packets each byte costs, as ethtool -k names them. TSO is
    /// read from tx-tcp-segmentation: the kernel drops it where tx checksumming is off, while the summary line
    /// "tcp-segmentation-offload" still reads "on".
    /// </summary>
    private static async Task<string> FeaturesAsync(Site site, string device, CancellationToken ct)
    {
        var lines = (await site.RunAsync("ethtool", ["-k", device], ct)).EnsureSuccess().Stdout.Split('\n');
        return string.Join(", ", lines.Select(l => l.Trim()).Where(l => Features.Any(f => l.StartsWith(f + ":", StringComparison.Ordinal))));
    }

    private static async Task<string> FirewallTableAsync(LabHost host, CancellationToken ct) =>
        (await host.RunAsync("nft", ["list", "table", "inet", "nanobox"], ct: ct)).Succeeded ? "present" : "GONE";

    private string PidFile(Site site) => Path.Combine(_pidDir, $"{site.Address}.pid");

    /// <summary>Stops the iperf3 daemons (they would keep the namespaces alive) and removes their pid files.</summary>
    private void StopServers()
    {
        foreach (var file in Directory.GetFiles(_pidDir))
        {
            if (int.TryParse(File.ReadAllText(file).Trim(), out var pid))
            {
                try
                {
                    System.Diagnostics.Process.GetProcessById(pid).Kill();
                }
                catch (ArgumentException)
                {
                    // already gone
                }
            }
        }

        Directory.Delete(_pidDir, recursive: true);
    }

    /// <summary>CPU time from /proc/stat: busy and total jiffies of the whole machine and of each core.</summary>
    private sealed record MachineCpu(IReadOnlyList<(long Busy, long Total)> Counters)
    {
        public static MachineCpu Read() =>
            new([.. File.ReadLines("/proc/stat").TakeWhile(l => l.StartsWith("cpu", StringComparison.Ordinal)).Select(Parse)]);

        /// <summary>The machine's busy share and its busiest core's since <paramref name="before"/>, in percent.</summary>
        public (double Machine, double BusiestCore) BusySince(MachineCpu before)
        {
            var shares = Counters.Zip(before.Counters, (now, then) => 100.0 * (now.Busy - then.Busy) / Math.Max(1, now.Total - then.Total)).ToList();
            return (shares[0], shares.Skip(1).Max());
        }

        /// <summary>"cpu[N] user nice system idle iowait irq softirq steal ...": idle and iowait are not busy.</summary>
        private static (long Busy, long Total) Parse(string line)
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            return (fields.Sum() - fields[3] - fields[4], fields.Sum());
        }
    }
}
