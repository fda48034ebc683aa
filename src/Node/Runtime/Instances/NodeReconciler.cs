using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Host;
using Nanobox.Node.Overlay;
using Nanobox.Node.Runtime.Docker;
using Nanobox.Node.Runtime.Placement;
using Nanobox.Node.Runtime.Spec;

namespace Nanobox.Node.Runtime.Instances;

/// <summary>
/// On every member: makes this node's Docker engine run exactly the instances the placement map puts on it,
/// after the Tailscale/flannel pattern: wanted = placements here, actual = the agent's own containers,
/// <see cref="InstanceDiff"/> decides, one pass applies. A running container with the wanted fingerprint is
/// never touched, so restarting the agent neither restarts nor duplicates anything. Exited instances are
/// started again with <see cref="RestartBackoff"/>. The result is published on the <see cref="InstanceBoard"/>.
/// </summary>
public sealed partial class NodeReconciler(NodeContext node, DockerEngine docker, OverlayManager overlay, IImageSource images, InstanceBoard board, ILoggerFactory loggerFactory)
{
    /// <summary>How often the loop looks for a reason to reconcile: the state changed, the overlay came, a restart is due.</summary>
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Without a reason, the engine is still read this often (a container may have exited).</summary>
    private static readonly TimeSpan FullPassInterval = TimeSpan.FromSeconds(2);

    /// <summary>Docker's own default: SIGTERM, then SIGKILL after 10 s.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Containers created or removed at once: the engine serialises much of it anyway.</summary>
    private const int Parallelism = 4;

    private readonly ILogger _logger = loggerFactory.CreateLogger("Nanobox.Apps");
    private readonly RestartBackoff _backoff = new();
    private readonly InstanceDirectories _directories = new(node.Options.DataDir);
    private readonly ConcurrentDictionary<string, string> _errors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _logged = new(StringComparer.Ordinal);
    private long _seenVersion = -1;
    private OverlayAttachment? _seenAttachment;
    private DateTimeOffset _nextPass;
    private string? _engine;

    public Task RunAsync(IAppsCluster cluster, CancellationToken cancellationToken) =>
        Ticker.RunAsync(TickInterval, ct => TickAsync(cluster, ct), cancellationToken);

    private async Task TickAsync(IAppsCluster cluster, CancellationToken cancellationToken)
    {
        if (cluster.View() is not { } view)
        {
            board.Publish([], new RuntimeStatus(RuntimeStatus.Standalone, docker.Endpoint.ToString(), null,
                ["a cluster: apps run on cluster members (`nanobox cluster init` or `nanobox cluster join`)"], 0, 0, DateTimeOffset.UtcNow));
            return;
        }

        var now = DateTimeOffset.UtcNow;
        if (view.State.Version == _seenVersion && Equals(overlay.Attachment, _seenAttachment) && now < _nextPass)
        {
            return;
        }

        _seenVersion = view.State.Version;
        _seenAttachment = overlay.Attachment;
        _nextPass = now + FullPassInterval;
        await ReconcileAsync(view, cancellationToken);
    }

    /// <summary>One pass: read the engine, apply what <see cref="InstanceDiff"/> decides, publish what is there.</summary>
    public async Task ReconcileAsync(AppsClusterView view, CancellationToken cancellationToken)
    {
        var wanted = PlacedInstance.On(view.SelfId, AppCatalog.Of(view.State).Catalog, PlacementMap.Of(view.State).Map);
        var waiting = new SortedSet<string>(StringComparer.Ordinal);
        IReadOnlyList<ManagedContainer> actual;
        try
        {
            _engine ??= $"{docker.Endpoint} (Docker {(await docker.PingAsync(cancellationToken)).Version})";
            actual = await docker.ListAsync(cancellationToken);
            Recovered(Engine);
        }
        catch (DockerEngineException ex)
        {
            _engine = null;
            Report(Engine, ex.Message);
            Publish(wanted, [], [$"a Docker engine: {ex.Message}"], docker.Endpoint.ToString());
            return;
        }

        var actions = InstanceDiff.Compute(wanted, actual, c => Verdict(c, wanted).NextStart <= DateTimeOffset.UtcNow);
        if (!actions.IsEmpty)
        {
            await ApplyAsync(actions, actual, waiting, cancellationToken);
            actual = await docker.ListAsync(cancellationToken);
        }

        _backoff.Keep(actual.Select(c => c.Id));
        foreach (var due in actual.Where(InstanceDiff.IsStopped).Select(c => Verdict(c, wanted).NextStart).OfType<DateTimeOffset>())
        {
            _nextPass = due < _nextPass ? due : _nextPass;
        }

        Publish(wanted, actual, waiting, _engine);
        var current = wanted.Select(w => w.ContainerName).Concat(actual.Select(c => c.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _errors.Keys.Where(name => !current.Contains(name)))
        {
            _errors.TryRemove(gone, out _);
        }
    }

    private const string Engine = "the Docker engine";

    private RestartBackoff.Verdict Verdict(ManagedContainer container, IReadOnlyList<PlacedInstance> wanted)
    {
        var max = wanted.FirstOrDefault(w => w.ContainerName == container.Name)?.Component.RestartBackoffMax ?? AppsOptions.DefaultRestartBackoffMax;
        return _backoff.Observe(container.Id, container.IsRunning, container.StartedAt, container.FinishedAt, max, DateTimeOffset.UtcNow);
    }

    private async Task ApplyAsync(ImmutableArray<InstanceAction> actions, IReadOnlyList<ManagedContainer> actual, ISet<string> waiting, CancellationToken cancellationToken)
    {
        var work = new List<Func<Task>>();
        foreach (var action in actions)
        {
            switch (action)
            {
                case RemoveContainer remove:
                    work.Add(() => Attempt(remove.Container.Name, () => RemoveAsync(remove.Container, cancellationToken)));
                    break;
                case StartAgain start:
                    work.Add(() => Attempt(start.Instance.ContainerName, async () =>
                    {
                        await docker.StartAgainAsync(start.Container.Id, cancellationToken);
                        _backoff.Started(start.Container.Id);
                    }));
                    break;
            }
        }

        var creates = actions.Select(a => a switch
        {
            CreateInstance c => (c.Instance, Old: (ManagedContainer?)null),
            ReplaceInstance r => (r.Instance, Old: r.Container),
            _ => default,
        }).Where(c => c.Instance is not null).ToList();
        if (creates.Count > 0)
        {
            work.AddRange(await PrepareCreatesAsync(creates, actual, waiting, cancellationToken));
        }

        using var gate = new SemaphoreSlim(Parallelism);
        await Task.WhenAll(work.Select(async step =>
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                await step();
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    /// <summary>
    /// Makes sure every image is here (once per image), gives each new container the lowest free overlay
    /// address, and returns the creates that can go ahead. Without the overlay attachment nothing is created:
    /// an instance without its address would be unreachable, so it waits, and the status says so.
    /// </summary>
    private async Task<List<Func<Task>>> PrepareCreatesAsync(
        List<(PlacedInstance Instance, ManagedContainer? Old)> creates, IReadOnlyList<ManagedContainer> actual, ISet<string> waiting, CancellationToken cancellationToken)
    {
        var work = new List<Func<Task>>();
        if (overlay.Attachment is not { } attachment)
        {
            const string Reason = "the overlay: containers join it once this node holds a block and the overlay's Docker network exists (`nanobox overlay show`)";
            waiting.Add(Reason);
            creates.ForEach(c => _errors[c.Instance.ContainerName] = $"waiting for {Reason}");
            return work;
        }

        var missing = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pin in creates.Select(c => c.Instance.Pin).Distinct(StringComparer.Ordinal))
        {
            try
            {
                await images.EnsureLocalAsync(pin, cancellationToken);
            }
            catch (ImageUnavailableException ex)
            {
                missing[pin] = ex.Message;
                waiting.Add($"an image: {ex.Message}");
                Report($"image {pin}", ex.Message);
            }
        }

        var used = new HashSet<IPAddress>(actual.Select(c => c.IPv4Address).OfType<IPAddress>());
        try
        {
            used.UnionWith((await docker.ListNetworkEndpointsAsync(attachment.Network, cancellationToken)).Select(e => e.Address));
        }
        catch (DockerEngineException ex)
        {
            waiting.Add($"the overlay's Docker network: {ex.Message}");
            return work;
        }

        foreach (var (instance, old) in creates)
        {
            if (missing.TryGetValue(instance.Pin, out var reason))
            {
                _errors[instance.ContainerName] = reason;
                continue;
            }

            if (InstancePlans.LowestFree(attachment.Block, used) is not { } address)
            {
                var full = $"every address of this node's overlay block {attachment.Block.Network} is taken";
                waiting.Add($"an overlay address: {full}");
                _errors[instance.ContainerName] = full;
                continue;
            }

            used.Add(address);
            work.Add(() => Attempt(instance.ContainerName, async () =>
            {
                if (old is not null)
                {
                    await RemoveAsync(old, cancellationToken);
                }

                var plan = InstancePlans.For(instance, docker.NodeId, attachment.Network, address,
                    _directories.PrepareWritable(instance.Key, instance.Component), _directories.PrepareNetwork(instance.Key, instance.Component));
                await docker.CreateAndStartAsync(plan, cancellationToken);
            }));
        }

        return work;
    }

    private async Task RemoveAsync(ManagedContainer container, CancellationToken cancellationToken)
    {
        await docker.StopAndRemoveAsync(container.Id, StopTimeout, cancellationToken);
        if (container.Instance >= 0)
        {
            _directories.Remove(new InstanceKey(container.App, container.Component, container.Instance));
        }
    }

    /// <summary>Runs one change; a failure is recorded for the instance (shown by ps) and logged once per distinct reason.</summary>
    private async Task Attempt(string name, Func<Task> change)
    {
        try
        {
            await change();
            _errors.TryRemove(name, out _);
            Recovered(name);
        }
        catch (Exception ex) when (ex is DockerEngineException or ContainerPlanException or ImageUnavailableException or IOException or UnauthorizedAccessException)
        {
            _errors[name] = ex.Message;
            Report(name, ex.Message);
        }
    }

    /// <summary>Logs a failure once per distinct reason, until it recovers.</summary>
    private void Report(string what, string reason)
    {
        lock (_logged)
        {
            if (_logged.GetValueOrDefault(what) != reason)
            {
                _logged[what] = reason;
                LogFailed(_logger, what, reason);
            }
        }
    }

    private void Recovered(string what)
    {
        lock (_logged)
        {
            _logged.Remove(what);
        }
    }

    private void Publish(IReadOnlyList<PlacedInstance> wanted, IReadOnlyList<ManagedContainer> actual, IEnumerable<string> waiting, string? engine)
    {
        var byName = actual.ToDictionary(c => c.Name, StringComparer.Ordinal);
        var waits = waiting.ToList();
        var rows = ImmutableArray.CreateBuilder<InstanceRow>();
        foreach (var instance in wanted)
        {
            var name = instance.ContainerName;
            var key = instance.Key;
            var error = _errors.GetValueOrDefault(name);
            if (!byName.TryGetValue(name, out var container))
            {
                rows.Add(Row(key, name, InstanceStates.Pending, null, instance.Component.Image, instance.Pin, 0, null, error ?? waits.FirstOrDefault()));
                continue;
            }

            var verdict = Verdict(container, wanted);
            var state = container.State switch
            {
                "running" => InstanceStates.Running,
                "created" or "restarting" => InstanceStates.Starting,
                "exited" or "dead" => verdict.CrashLooping ? InstanceStates.CrashLoop : InstanceStates.Exited,
                var other => other,
            };
            error ??= container.Fingerprint != instance.Fingerprint ? "runs an earlier release; replaced in turn"
                : container.OomKilled && !container.IsRunning ? $"killed for using more than its memory limit ({SpecFormats.FormatBytes(instance.Component.Resources.MemoryBytes)})"
                : null;
            rows.Add(Row(key, name, state, container.IPv4Address, instance.Component.Image, instance.Pin, verdict.Restarts, container.IsRunning ? null : container.ExitCode, error));
        }

        var wantedNames = wanted.Select(w => w.ContainerName).ToHashSet(StringComparer.Ordinal);
        foreach (var orphan in actual.Where(c => !wantedNames.Contains(c.Name)))
        {
            rows.Add(Row(new InstanceKey(orphan.App, orphan.Component, orphan.Instance), orphan.Name, InstanceStates.Removing, orphan.IPv4Address, orphan.Image, orphan.Image, 0, null, _errors.GetValueOrDefault(orphan.Name)));
        }

        board.Publish(rows.ToImmutable(), new RuntimeStatus(
            waits.Count == 0 ? RuntimeStatus.Ready : RuntimeStatus.Waiting,
            engine ?? docker.Endpoint.ToString(),
            overlay.Attachment is { } a ? $"{a.Network} {a.Block.Network}" : null,
            waits,
            wanted.Count,
            rows.Count(r => r.State == InstanceStates.Running && wantedNames.Contains(r.Name)),
            DateTimeOffset.UtcNow));
    }

    private InstanceRow Row(InstanceKey key, string name, string state, IPAddress? address, string image, string digest, int restarts, long? exitCode, string? error) =>
        new(key.App, key.Component, docker.NodeId, state, address?.ToString(), image, digest, restarts, name, node.Options.Name, key.Index, exitCode, error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Apps: {What}: {Reason}")]
    private static partial void LogFailed(ILogger logger, string what, string reason);
}
