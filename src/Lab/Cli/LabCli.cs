namespace Nanobox.Lab.Cli;

/// <summary>
/// `nanobox-lab`: the lab by hand. `up` leaves a lab running (owner "manual", so no sweep removes it)
/// for poking at with `exec` and `nanobox`; `down` removes it.
/// </summary>
internal static class LabCli
{
    private const int Usage = 64;

    private const string Help = """
        usage: nanobox-lab COMMAND
          up [--hosts N] [--docker] [--bin PATH]   create a lab, start a node per host, leave it running
          ls                                      list labs (id, owner, hosts)
          exec ID HOST -- CMD [ARG...]            run a command inside a host's network namespace
          nanobox ID HOST ARG...                  run the nanobox CLI in a host against its socket
          scan [--lab ID] [--from HOST] TARGET [--tcp PORTS] [--udp PORTS] [--timeout-ms N] [--concurrency N] [--json]
                                                  probe TARGET's ports from HOST (it re-executes itself in HOST's namespace);
                                                  --lab may be left out when one lab exists; without --from it scans from the
                                                  namespace it runs in. PORTS: 22,80,8000-8100 or all. Defaults: 400 ms, 4000
          reach --tcp PORT --until open|blocked [--probe-ms N] [--limit-ms N] TARGET...
                                                  from the namespace it runs in, connects to PORT on each TARGET over and over
                                                  until each is open (connects) or blocked (no answer); prints JSON: each
                                                  target and the Unix ms of the probe that saw it (null: not within the limit).
                                                  Defaults: 50 ms, 10000 ms
          down ID|--all                           remove a lab (--all: every lab whose owner is not a running process)
          sweep                                   remove labs whose owner process is dead
        """;

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        try
        {
            return args switch
            {
                ["up", .. var rest] => await UpAsync(rest, ct),
                ["ls"] => List(),
                ["exec", var id, var host, "--", var file, .. var rest] =>
                    await ProcessRunner.RunInteractiveAsync(Tools.Nsenter, Netns.NsenterArgs(Find(id, host).Namespace, file, rest), ct),
                ["nanobox", var id, var host, .. var rest] => await NanoboxAsync(id, host, rest, ct),
                ["scan", .. var rest] => await ScanAsync(rest, ct),
                ["reach", .. var rest] => await ReachAsync(rest, ct),
                ["down", "--all"] => await DownAllAsync(ct),
                ["down", var id] => await DownAsync(id, ct),
                ["sweep"] => await SweepAsync(ct),
                ["-h" or "--help" or "help"] => PrintHelp(Console.Out, 0),
                _ => PrintHelp(Console.Error, Usage),
            };
        }
        catch (LabException ex)
        {
            await Console.Error.WriteLineAsync($"nanobox-lab: {ex.Message}");
            return 1;
        }
    }

    private static int PrintHelp(TextWriter to, int code)
    {
        to.Write(Help);
        return code;
    }

    private static async Task<int> UpAsync(string[] args, CancellationToken ct)
    {
        var options = new LabOptions { Persistent = true };
        for (var i = 0; i < args.Length; i++)
        {
            options = (args[i], i + 1 < args.Length ? args[i + 1] : null) switch
            {
                ("--hosts", { } n) when int.TryParse(n, out var hosts) && ++i > 0 => options with { Hosts = hosts },
                ("--bin", { } path) when ++i > 0 => options with { NodeBinary = path },
                ("--docker", _) => options with { Docker = true },
                _ => throw new LabException($"up: unexpected argument {args[i]}\n{Help}"),
            };
        }

        var lab = await Lab.StartAsync(options, ct);
        try
        {
            if (options.Docker)
            {
                await Task.WhenAll(lab.Hosts.Select(h => h.ImportTestImageAsync(ct)));
            }
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }

        Console.WriteLine($"lab {lab.Id} is up ({lab.Hosts.Count} hosts, switch {lab.SwitchNamespace}); remove it with: nanobox-lab down {lab.Id}");
        foreach (var h in lab.Hosts)
        {
            Console.WriteLine($"  {h.Name}  {h.Address,-12} {h.Address6,-14} ns {h.Namespace}  pid {h.Node.Pid?.ToString() ?? "-"}");
            Console.WriteLine($"      socket {h.SocketPath}");
            Console.WriteLine($"      log    {h.LogPath}");
            if (h.DockerHost is not null)
            {
                Console.WriteLine($"      docker {h.DockerHost} (image {TestImage.Tag})");
            }
        }

        // No DisposeAsync: the lab is meant to outlive us. Its agents and dockerds run in sessions of their own.
        return 0;
    }

    private static int List()
    {
        var ids = LabPaths.ExistingIds(LabPaths.RunRoot);
        Console.WriteLine($"{"ID",-9} {"OWNER",-22} {"ALIVE",-5} {"CREATED",-20} HOSTS");
        foreach (var id in ids)
        {
            var paths = new LabPaths(id);
            var state = LabState.TryRead(paths);
            var hosts = state is null ? "(no lab.json)" : string.Join(" ", state.Hosts.Select(h => $"{h.Name}={h.Address}"));
            Console.WriteLine($"{id,-9} {LabOwner.Describe(paths),-22} {(LabOwner.IsAlive(paths) ? "yes" : "no"),-5} {state?.Created.ToString("yyyy-MM-dd HH:mm:ss") ?? "-",-20} {hosts}");
        }

        var orphans = Netns.List().Where(ns => LabPaths.IdOfNamespace(ns) is { } id && !ids.Contains(id)).ToList();
        if (orphans.Count > 0)
        {
            Console.WriteLine($"namespaces without a lab (`nanobox-lab sweep` removes them): {string.Join(" ", orphans)}");
        }

        return 0;
    }

    private static async Task<int> NanoboxAsync(string id, string host, string[] args, CancellationToken ct)
    {
        var state = LabState.TryRead(new LabPaths(id)) ?? throw new LabException($"no lab {id} (see `nanobox-lab ls`)");
        var binary = state.NodeBinary ?? throw new LabException($"lab {id} has no nanobox binary recorded");
        var h = Find(id, host);
        return await ProcessRunner.RunInteractiveAsync(Tools.Nsenter, Netns.NsenterArgs(h.Namespace, binary, [.. args, "--socket", h.SocketPath]), ct);
    }

    private static async Task<int> ScanAsync(string[] args, CancellationToken ct)
    {
        var (lab, from, target, request, json) = ParseScan(args);
        if (from is null)
        {
            var result = await PortScanner.ScanAsync(target, request, ct);
            Console.WriteLine(json ? result.ToJson() : ScanReport.Text(result));
            return 0;
        }

        // The scan must run in the source host's namespace, and this process stays where it is: run ourselves there.
        var id = lab ?? OnlyLab();
        var self = LabBinaryLocator.Command();
        string[] argv = [.. self.Skip(1), "scan", target.ToString(), .. request.ToArgs(), .. json ? new[] { "--json" } : []];
        return await ProcessRunner.RunInteractiveAsync(Tools.Nsenter, Netns.NsenterArgs(Find(id, from).Namespace, self[0], argv), ct);
    }

    private static async Task<int> ReachAsync(string[] args, CancellationToken ct)
    {
        var targets = new List<System.Net.IPAddress>();
        int? port = null;
        ReachGoal? goal = null;
        var (probe, limit) = (TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(10));
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i], value)
            {
                case ("--tcp", { } p) when int.TryParse(p, out var number) && number is > 0 and < 65536:
                    (port, i) = (number, i + 1);
                    break;
                case ("--until", "open" or "blocked"):
                    (goal, i) = (value == "open" ? ReachGoal.Open : ReachGoal.Blocked, i + 1);
                    break;
                case ("--probe-ms", { } ms) when int.TryParse(ms, out var n) && n > 0:
                    (probe, i) = (TimeSpan.FromMilliseconds(n), i + 1);
                    break;
                case ("--limit-ms", { } ms) when int.TryParse(ms, out var n) && n > 0:
                    (limit, i) = (TimeSpan.FromMilliseconds(n), i + 1);
                    break;
                case (var word, _) when System.Net.IPAddress.TryParse(word, out var address):
                    targets.Add(address);
                    break;
                default:
                    throw new LabException($"reach: unexpected argument {args[i]}\n{Help}");
            }
        }

        if (port is not { } tcp || goal is not { } until || targets.Count == 0)
        {
            throw new LabException($"reach: needs --tcp PORT, --until open|blocked and at least one target\n{Help}");
        }

        var sightings = await ReachWatcher.WatchAsync(targets, tcp, until, probe, limit, ct);
        Console.WriteLine(ReachWatcher.ToJson(sightings));
        return sightings.All(s => s.AtUnixMs is not null) ? 0 : 1;
    }

    private static (string? Lab, string? From, System.Net.IPAddress Target, ScanRequest Request, bool Json) ParseScan(string[] args)
    {
        string? lab = null, from = null;
        System.Net.IPAddress? target = null;
        var request = new ScanRequest();
        var json = false;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                var value = i + 1 < args.Length ? args[i + 1] : null;
                switch (args[i], value)
                {
                    case ("--lab", { } id):
                        (lab, i) = (id, i + 1);
                        break;
                    case ("--from", { } host):
                        (from, i) = (host, i + 1);
                        break;
                    case ("--tcp", { } ports):
                        (request, i) = (request with { Tcp = PortList.Parse(ports) }, i + 1);
                        break;
                    case ("--udp", { } ports):
                        (request, i) = (request with { Udp = PortList.Parse(ports) }, i + 1);
                        break;
                    case ("--timeout-ms", { } ms) when int.TryParse(ms, out var timeout) && timeout > 0:
                        (request, i) = (request with { Timeout = TimeSpan.FromMilliseconds(timeout) }, i + 1);
                        break;
                    case ("--concurrency", { } n) when int.TryParse(n, out var concurrency) && concurrency > 0:
                        (request, i) = (request with { Concurrency = concurrency }, i + 1);
                        break;
                    case ("--json", _):
                        json = true;
                        break;
                    case (var word, _) when target is null && System.Net.IPAddress.TryParse(word, out var address):
                        target = address;
                        break;
                    default:
                        throw new LabException($"scan: unexpected argument {args[i]}\n{Help}");
                }
            }
        }
        catch (FormatException ex)
        {
            throw new LabException($"scan: {ex.Message}");
        }

        if (target is null || (request.Tcp.Count == 0 && request.Udp.Count == 0))
        {
            throw new LabException($"scan: needs a target address and --tcp or --udp ports\n{Help}");
        }

        return (lab, from, target, request, json);
    }

    private static string OnlyLab() => LabPaths.ExistingIds(LabPaths.RunRoot) switch
    {
        [var id] => id,
        [] => throw new LabException("no lab is running (see `nanobox-lab up`)"),
        var ids => throw new LabException($"there are {ids.Count} labs ({string.Join(", ", ids)}): name one with --lab"),
    };

    private static async Task<int> DownAsync(string id, CancellationToken ct)
    {
        await Lab.RemoveAsync(id, ct);
        Console.WriteLine($"lab {id} removed");
        return 0;
    }

    private static async Task<int> DownAllAsync(CancellationToken ct)
    {
        foreach (var id in LabPaths.ExistingIds(LabPaths.RunRoot))
        {
            var paths = new LabPaths(id);
            if (LabOwner.IsAlive(paths) && LabOwner.Describe(paths) != LabOwner.Manual)
            {
                Console.WriteLine($"lab {id} belongs to running process {LabOwner.Describe(paths)}: left alone (`down {id}` forces it)");
                continue;
            }

            await DownAsync(id, ct);
        }

        // Whatever is left without state (namespaces, file dirs) is stale by construction.
        await SweepAsync(ct);
        return 0;
    }

    private static async Task<int> SweepAsync(CancellationToken ct)
    {
        var swept = await Lab.SweepStaleAsync(line => Console.WriteLine(line), ct);
        Console.WriteLine($"swept {swept} stale lab(s)");
        return 0;
    }

    private static HostState Find(string id, string host)
    {
        var state = LabState.TryRead(new LabPaths(id)) ?? throw new LabException($"no lab {id} (see `nanobox-lab ls`)");
        return state.Hosts.FirstOrDefault(h => h.Name == host)
            ?? throw new LabException($"lab {id} has no host {host} (it has {string.Join(", ", state.Hosts.Select(h => h.Name))})");
    }
}
