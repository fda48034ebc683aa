using System.Collections.Immutable;
using Nanobox.Node.Cluster;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Runtime.Placement;
using Nanobox.Node.Runtime.Spec;

namespace Nanobox.Node.Runtime.Apps;

/// <summary>
/// Deploy, roll back and remove apps: each one compare-and-set write of the cluster state's section
/// <see cref="AppCatalog.Section"/>, after everything that can fail has been checked (the spec, every image),
/// so a refused change changes nothing. Then it waits briefly for the leader to place the new release.
/// </summary>
public sealed class AppDeployments(IAppsCluster cluster, IImageSource images)
{
    /// <summary>The leader places within a tick (250 ms) of seeing the write; more means no leader answers, and ps will tell.</summary>
    private static readonly TimeSpan PlacementWait = TimeSpan.FromSeconds(5);

    /// <exception cref="AppSpecInvalidException">The spec has errors.</exception>
    /// <exception cref="ImageUnavailableException">A component's image is nowhere to be found.</exception>
    /// <exception cref="AppChangeRejectedException">The catalog refuses the release.</exception>
    /// <exception cref="ClusterException">Not a member, no quorum, or a concurrent change.</exception>
    public async Task<AppChangeResponse> DeployAsync(string yaml, string by, CancellationToken cancellationToken)
    {
        var parsed = AppSpecParser.Parse(yaml, AppSpecPolicy.Default);
        if (!parsed.IsValid)
        {
            throw new AppSpecInvalidException(parsed.Errors);
        }

        var spec = parsed.Spec;
        var view = RequireView();
        var pins = await ResolvePinsAsync(spec, cancellationToken);
        if (AppCatalog.Of(view.State).Catalog.Apps.TryGetValue(spec.App, out var history)
            && history.Current.Spec.Equals(spec) && history.Current.ImagePins.SequenceEqual(pins))
        {
            return Result(RequireView().State, history.Current, AppChangeResponse.Unchanged, placementKnown: true);
        }

        var at = DateTimeOffset.UtcNow;
        return await ChangeAsync(spec.App, AppChangeResponse.Deployed, catalog => catalog.Deploy(spec, pins, at, by), cancellationToken);
    }

    /// <exception cref="AppChangeRejectedException">No such app, or no such earlier release.</exception>
    public Task<AppChangeResponse> RollbackAsync(string app, int? version, string by, CancellationToken cancellationToken)
    {
        var at = DateTimeOffset.UtcNow;
        return ChangeAsync(app, AppChangeResponse.RolledBack, catalog => catalog.Rollback(app, version, at, by), cancellationToken);
    }

    /// <summary>Takes the app and its history out of the catalog; every node removes its instances (network dirs stay).</summary>
    /// <exception cref="AppChangeRejectedException">No such app.</exception>
    public async Task<AppChangeResponse> RemoveAsync(string app, CancellationToken cancellationToken)
    {
        var release = AppCatalog.Of(RequireView().State).Catalog.Get(app).Current;
        await ChangeAsync(app, AppChangeResponse.Removed, catalog => catalog.Remove(app), cancellationToken);
        return new AppChangeResponse(app, release.Version, AppChangeResponse.Removed, null, release.ImagePins, true, [], []);
    }

    public IReadOnlyList<AppSummary> List()
    {
        var state = RequireView().State;
        var plan = PlacementMap.Of(state).Map.Plan;
        return [.. AppCatalog.Of(state).Catalog.Apps.Values.Select(h =>
        {
            var release = h.Current;
            var prefix = release.App + "/";
            return new AppSummary(
                release.App,
                release.Version,
                release.DeployedAt,
                release.DeployedBy,
                release.Spec.Components.Count,
                release.Spec.Components.Values.Sum(c => c.Replicas),
                plan.Placements.Keys.Count(k => k.StartsWith(prefix, StringComparison.Ordinal)),
                plan.Unplaced.Count(u => u.Instance.StartsWith(prefix, StringComparison.Ordinal)));
        })];
    }

    /// <exception cref="AppChangeRejectedException">No such app.</exception>
    public AppDetails Show(string app)
    {
        var state = RequireView().State;
        var history = AppCatalog.Of(state).Catalog.Get(app);
        var release = history.Current;
        var (placed, unplaced) = PlacementOf(state, app);
        return new AppDetails(
            app,
            Summary(release),
            [.. history.Previous.Select(Summary)],
            [.. release.Spec.Components.Values.Select(c => new ComponentSummary(
                c.Id,
                c.Image,
                release.ImagePins[c.Id],
                c.Replicas,
                SpecFormats.FormatBytes(c.Resources.MemoryBytes),
                SpecFormats.FormatCpus(c.Resources.MilliCpus),
                c.User.ToString(),
                [.. c.CapAdd]))],
            placed,
            unplaced,
            System.Text.Json.JsonSerializer.SerializeToElement(release.Spec, RuntimeJsonContext.Default.AppSpec));
    }

    private static AppReleaseSummary Summary(AppRelease release) => new(release.Version, release.DeployedAt, release.DeployedBy, release.RestoredFrom);

    /// <summary>Every component's image as a pin, each distinct image resolved once.</summary>
    private async Task<ImmutableSortedDictionary<string, string>> ResolvePinsAsync(AppSpec spec, CancellationToken cancellationToken)
    {
        var byImage = new Dictionary<string, string>(StringComparer.Ordinal);
        var pins = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var component in spec.Components.Values)
        {
            if (!byImage.TryGetValue(component.Image, out var pin))
            {
                try
                {
                    byImage[component.Image] = pin = await images.ResolvePinAsync(component.Image, cancellationToken);
                }
                catch (ImageUnavailableException ex)
                {
                    throw new ImageUnavailableException($"{component.Id}: {ex.Message}; nothing was deployed", ex);
                }
            }

            pins[component.Id] = pin;
        }

        return pins.ToImmutable();
    }

    /// <summary>Writes the changed catalog (compare-and-set on the section's revision) and waits for the leader to place it.</summary>
    private async Task<AppChangeResponse> ChangeAsync(string app, string outcome, Func<AppCatalog, AppCatalog> change, CancellationToken cancellationToken)
    {
        AppCatalog? written = null;
        long revision = 0;
        await cluster.UpdateSectionAsync(state =>
        {
            var (catalog, current) = AppCatalog.Of(state);
            written = change(catalog);
            revision = (current ?? 0) + 1;
            return new PutSectionCommand(AppCatalog.Section, written.ToJson(), current ?? 0);
        }, cancellationToken);

        var placed = await WaitForPlacementAsync(revision, cancellationToken);
        return written!.Apps.TryGetValue(app, out var history)
            ? Result(placed ?? RequireView().State, history.Current, outcome, placed is not null)
            : new AppChangeResponse(app, 0, outcome, null, ImmutableSortedDictionary<string, string>.Empty, placed is not null, [], []);
    }

    /// <returns>The state once the leader's map covers <paramref name="appsRevision"/>; null if it did not within the wait.</returns>
    private async Task<ClusterState?> WaitForPlacementAsync(long appsRevision, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(PlacementWait);
        try
        {
            while (true)
            {
                if (cluster.View() is { } view && PlacementMap.Of(view.State).Map.AppsRevision >= appsRevision)
                {
                    return view.State;
                }

                await Task.Delay(100, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private static AppChangeResponse Result(ClusterState state, AppRelease release, string outcome, bool placementKnown)
    {
        var (placed, unplaced) = PlacementOf(state, release.App);
        return new AppChangeResponse(release.App, release.Version, outcome, release.RestoredFrom, release.ImagePins, placementKnown, placed, unplaced);
    }

    private static (IReadOnlyList<InstancePlacement> Placed, IReadOnlyList<UnplacedInstance> Unplaced) PlacementOf(ClusterState state, string app)
    {
        var plan = PlacementMap.Of(state).Map.Plan;
        var prefix = app + "/";
        return (
            [.. plan.Placements
                .Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal))
                .OrderBy(p => InstanceKey.TryParse(p.Key, out var key) ? key : default)
                .Select(p => new InstancePlacement(p.Key, p.Value, state.Members.TryGetValue(p.Value, out var m) ? m.Name : p.Value))],
            [.. plan.Unplaced.Where(u => u.Instance.StartsWith(prefix, StringComparison.Ordinal))]);
    }

    private AppsClusterView RequireView() =>
        cluster.View() ?? throw new ClusterException(ClusterErrorKind.Conflict,
            "This node is not in a cluster: apps run on a cluster's members. Create one with `nanobox cluster init` (a single node is a cluster) or join one with `nanobox cluster join ADDR --token TOKEN`.");
}
