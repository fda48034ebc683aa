using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Nanobox.Node.Cluster;
using Nanobox.Node.Runtime.Docker;
using Nanobox.Node.Runtime.Placement;
using Nanobox.Node.Runtime.Spec;

namespace Nanobox.Node.Runtime.Apps;

/// <summary>One line of `nanobox logs`, or a failure to read one instance (<paramref name="Error"/> set, no text).</summary>
/// <param name="Instance"><c>shop/web.main#0</c></param>
/// <param name="Stream">stdout or stderr.</param>
public sealed record AppLogLine(string Instance, string? Stream, DateTimeOffset? Time, string? Text, string? Error = null);

/// <summary>
/// `nanobox logs [APP/]KIND.NAME[#INDEX]`: the output of a component's instances, read through
/// <see cref="IInstanceLogs"/> on whichever node each one is placed. Without --follow the lines of several
/// instances come merged by time; with it, as they are written.
/// </summary>
public sealed partial class AppLogs(IAppsCluster cluster, IInstanceLogs logs)
{
    [GeneratedRegex(@"^(?:(?<app>[a-z][a-z0-9-]{0,30})/)?(?<component>[a-z]+\.[a-z][a-z0-9-]{0,30})(?:#(?<index>[0-9]{1,3}))?$")]
    private static partial Regex Target();

    /// <summary>The instances <paramref name="target"/> names, each with the node it is placed on.</summary>
    /// <exception cref="AppChangeRejectedException">The target is malformed, names nothing, or is ambiguous; the message says how to fix it.</exception>
    /// <exception cref="ClusterException">This node is not in a cluster.</exception>
    public IReadOnlyList<(InstanceKey Key, string NodeId)> Resolve(string target)
    {
        var match = Target().Match(target);
        if (!match.Success)
        {
            throw new AppChangeRejectedException($"'{target}' is not a component: give KIND.NAME (e.g. web.main), APP/KIND.NAME when several apps have it, and #INDEX for one instance (e.g. shop/web.main#0)");
        }

        var state = (cluster.View() ?? throw new ClusterException(ClusterErrorKind.Conflict, "This node is not in a cluster, so it runs no apps.")).State;
        var catalog = AppCatalog.Of(state).Catalog;
        var component = match.Groups["component"].Value;
        var app = match.Groups["app"].Success ? match.Groups["app"].Value : null;
        var apps = catalog.Apps.Values.Where(h => (app is null || h.App == app) && h.Current.Spec.Components.ContainsKey(component)).Select(h => h.App).ToList();
        switch (apps.Count)
        {
            case 0:
                throw new AppChangeRejectedException(app is null
                    ? $"no app has a component {component}; `nanobox app ls` lists the apps, `nanobox app show APP` their components"
                    : $"{catalog.Get(app).App} has no component {component}; `nanobox app show {app}` lists its components");
            case > 1:
                throw new AppChangeRejectedException($"{component} is a component of {string.Join(", ", apps)}: give APP/{component}");
        }

        var index = match.Groups["index"].Success ? int.Parse(match.Groups["index"].Value, CultureInfo.InvariantCulture) : (int?)null;
        var placed = PlacementMap.Of(state).Map.Plan.Placements
            .Select(p => (Key: InstanceKey.TryParse(p.Key, out var key) ? key.Value : default, NodeId: p.Value))
            .Where(p => p.Key.App == apps[0] && p.Key.Component == component && (index is null || p.Key.Index == index))
            .OrderBy(p => p.Key)
            .ToList();
        return placed.Count > 0
            ? placed
            : throw new AppChangeRejectedException($"no instance of {apps[0]}/{component}{(index is null ? "" : $"#{index}")} is placed on a node; `nanobox ps` shows its instances");
    }

    /// <summary>The lines of <paramref name="instances"/>; an instance that cannot be read yields one line with its error.</summary>
    public async IAsyncEnumerable<AppLogLine> ReadAsync(IReadOnlyList<(InstanceKey Key, string NodeId)> instances, ContainerLogOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!options.Follow)
        {
            var all = new List<AppLogLine>();
            foreach (var instance in instances)
            {
                await foreach (var line in ReadOneAsync(instance.Key, instance.NodeId, options, cancellationToken))
                {
                    all.Add(line);
                }
            }

            foreach (var line in all.OrderBy(l => l.Error is null).ThenBy(l => l.Time))
            {
                yield return line;
            }

            yield break;
        }

        var merged = Channel.CreateBounded<AppLogLine>(1024);
        var readers = instances.Select(async instance =>
        {
            await foreach (var line in ReadOneAsync(instance.Key, instance.NodeId, options, cancellationToken))
            {
                await merged.Writer.WriteAsync(line, cancellationToken);
            }
        }).ToList();
        _ = Task.WhenAll(readers).ContinueWith(t => merged.Writer.TryComplete(t.Exception?.GetBaseException()), TaskScheduler.Default);
        await foreach (var line in merged.Reader.ReadAllAsync(cancellationToken))
        {
            yield return line;
        }
    }

    private async IAsyncEnumerable<AppLogLine> ReadOneAsync(InstanceKey key, string nodeId, ContainerLogOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var name = ContainerSpecBuilder.ContainerName(key.App, key.Component, key.Index);
        var instance = key.ToString();
        await using var lines = logs.ReadAsync(nodeId, name, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            AppLogLine next;
            try
            {
                if (!await lines.MoveNextAsync())
                {
                    yield break;
                }

                var line = lines.Current;
                next = new AppLogLine(instance, line.Stream == ContainerLogStream.StandardError ? "stderr" : "stdout", line.Time, line.Text);
            }
            catch (Exception ex) when (ex is IOException or DockerEngineException or InvalidOperationException)
            {
                next = new AppLogLine(instance, null, null, null, ex.Message);
            }

            yield return next;
            if (next.Error is not null)
            {
                yield break;
            }
        }
    }
}
