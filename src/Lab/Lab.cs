namespace Nanobox.Lab;

/// <summary>
/// A throwaway multi-host network on this machine: N hosts (network namespaces) on one bridge in a switch
/// namespace, each with a nanobox agent and optionally its own dockerd. Everything lives in namespaces
/// and directories the lab created; the root namespace's links, routes and firewall are never touched.
/// Dispose it to remove everything; a lab whose owner died is removed by the next lab's start.
/// </summary>
public sealed class Lab : IAsyncDisposable
{
    private readonly LabPaths _paths;
    private readonly LabOptions _options;
    private readonly Faults _faults;
    private readonly Action<string> _log;
    private readonly Lazy<string> _binary;
    private readonly Lock _teardownLock = new();
    private Task? _teardown;

    private Lab(LabOptions options)
    {
        _options = options;
        _log = options.Log ?? (line => Console.Error.WriteLine(line));
        _paths = new LabPaths(LabPaths.NewId());
        _binary = new Lazy<string>(() => NodeBinaryLocator.Resolve(options.NodeBinary));
        Hosts = Enumerable.Range(1, options.Hosts)
            .Select(i => new LabHost(_paths, i, () => _binary.Value, options.Docker, options.Persistent))
            .ToList();
        _faults = new Faults(Hosts);
    }

    public string Id => _paths.Id;
    public IReadOnlyList<LabHost> Hosts { get; }

    /// <summary>The published nanobox binary the hosts run (resolved on first use).</summary>
    public string NodeBinary => _binary.Value;

    /// <summary>/run/nanobox-lab/&lt;id&gt;: lab.json and the owner file.</summary>
    public string RunDirectory => _paths.RunDir;

    /// <summary>/var/lib/nanobox-lab/&lt;id&gt;: one directory per host.</summary>
    public string FilesDirectory => _paths.FilesDir;

    /// <summary>The switch namespace holding the bridge.</summary>
    public string SwitchNamespace => _paths.SwitchNamespace;

    public LabHost this[string name] =>
        Hosts.FirstOrDefault(h => h.Name == name) ?? throw new KeyNotFoundException($"lab {Id} has no host {name} (it has {string.Join(", ", Hosts.Select(h => h.Name))})");

    /// <summary>
    /// Builds a lab: checks prerequisites (root, ip, nsenter, nft, busybox; dockerd with Docker), sweeps stale
    /// labs, wires the hosts, starts dockerds and nodes, and returns once every node answers status.
    /// On any failure everything made so far is torn down before the exception propagates.
    /// </summary>
    public static async Task<Lab> StartAsync(LabOptions options, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Hosts, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Hosts, 250);
        Tools.EnsurePrerequisites(options.Docker);
        var lab = new Lab(options);
        if (options.StartNodes)
        {
            _ = lab._binary.Value; // a missing binary fails here, before anything is created
        }

        await LabTeardown.SweepAsync(lab._log, ct);
        try
        {
            await lab.BuildAsync(ct);
            return lab;
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    private async Task BuildAsync(CancellationToken ct)
    {
        // State first, owner at once: from here on a sweep by a parallel run sees a live lab, and if we die
        // it sees a dead owner. Teardown removes the state last, so nothing of ours is ever ownerless.
        Directory.CreateDirectory(_paths.RunDir);
        if (_options.Persistent)
        {
            LabOwner.WriteManual(_paths);
        }
        else
        {
            LabOwner.WriteSelf(_paths);
            AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        }

        WriteState();
        foreach (var host in Hosts)
        {
            Directory.CreateDirectory(host.DataDir);
            Directory.CreateDirectory(host.RunDir);
            await File.WriteAllTextAsync(host.ConfigPath, host.BaseConfig, ct);
        }

        await LabNetwork.CreateAsync(_paths, Hosts.Select(h => h.Name).ToList(), ct);

        // dockerds start in parallel: each takes a couple of seconds, mostly waiting.
        await Task.WhenAll(Hosts.Where(h => h.Docker is not null).Select(h => h.Docker!.StartAsync(h.Namespace, _options.Persistent, ct)));
        if (_options.StartNodes)
        {
            foreach (var host in Hosts)
            {
                await host.Node.StartAsync(ct: ct);
            }

            await Task.WhenAll(Hosts.Select(h => h.Node.WaitReadyAsync(ct: ct)));
        }
    }

    private void WriteState() =>
        new LabState(Id, DateTimeOffset.UtcNow, TryBinary(), _options.Docker, _paths.SwitchNamespace, Hosts.Select(h => h.ToState()).ToList()).Write(_paths);

    // A lab without nodes may have no binary; lab.json then says so and `nanobox-lab nanobox` refuses.
    private string? TryBinary()
    {
        try
        {
            return _binary.Value;
        }
        catch (LabPrerequisiteException)
        {
            return null;
        }
    }

    /// <summary>Drops all traffic between <paramref name="a"/> and <paramref name="b"/> (both directions, IPv4 and IPv6); other pairs are unaffected.</summary>
    public Task CutAsync(LabHost a, LabHost b, CancellationToken ct = default) => _faults.CutAsync(a, b, cut: true, ct);

    /// <summary>Undoes <see cref="CutAsync"/> for that pair (an isolation of either still applies).</summary>
    public Task HealAsync(LabHost a, LabHost b, CancellationToken ct = default) => _faults.CutAsync(a, b, cut: false, ct);

    /// <summary>Cuts <paramref name="host"/> off from every other host and from anything reaching it over eth0.</summary>
    public Task IsolateAsync(LabHost host, CancellationToken ct = default) => _faults.IsolateAsync(host, isolate: true, ct);

    /// <summary>Undoes <see cref="IsolateAsync"/> (explicit cuts stay).</summary>
    public Task RejoinAsync(LabHost host, CancellationToken ct = default) => _faults.IsolateAsync(host, isolate: false, ct);

    /// <summary>Drops <paramref name="percent"/>% of the packets arriving at <paramref name="host"/>'s eth0, at random; 0 clears.</summary>
    public Task SetLossAsync(LabHost host, int percent, CancellationToken ct = default) => _faults.SetLossAsync(host, percent, ct);

    /// <summary>Removes every lab whose owner process is dead (never a live or manual one). Returns how many were removed.</summary>
    public static Task<int> SweepStaleAsync(CancellationToken ct = default) => SweepStaleAsync(line => Console.Error.WriteLine(line), ct);

    public static Task<int> SweepStaleAsync(Action<string> log, CancellationToken ct = default) => LabTeardown.SweepAsync(log, ct);

    /// <summary>Removes a lab by id from any process (what `nanobox-lab down` does).</summary>
    public static Task RemoveAsync(string id, CancellationToken ct = default) =>
        LabPaths.IsId(id) ? LabTeardown.RunAsync(id, line => Console.Error.WriteLine(line), ct) : throw new ArgumentException($"not a lab id: {id}");

    /// <summary>Kills every process of the lab, stops its dockerds, deletes its namespaces, mounts and directories. Safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        await TeardownOnce();
    }

    private Task TeardownOnce()
    {
        lock (_teardownLock)
        {
            return _teardown ??= Task.Run(async () =>
            {
                try
                {
                    await LabTeardown.RunAsync(Id, _log, CancellationToken.None);
                }
                finally
                {
                    Hosts.ToList().ForEach(h => h.Node.Forget());
                }
            });
        }
    }

    // The backstop for a test run that never disposes (crash in a fixture, Environment.Exit): runs at exit.
    private void OnProcessExit(object? sender, EventArgs e)
    {
        try
        {
            TeardownOnce().Wait(TimeSpan.FromSeconds(60));
        }
        catch (Exception ex)
        {
            _log($"nanobox-lab: teardown of {Id} at exit failed: {ex.Message}");
        }
    }
}
