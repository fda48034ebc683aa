using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using Nanobox.Node.Cluster.Consensus;

namespace Nanobox.Node.Runtime.Spec;

/// <summary>One deployment of an app, as the replicated state keeps it.</summary>
/// <param name="Version">1 for the first deploy, one more for each deploy or rollback after it.</param>
/// <param name="ImagePins">Component id -> the image id or repo digest its image resolved to at deploy, so every node runs the same bytes.</param>
/// <param name="DeployedAt">Set by the proposer (never the applying replica's clock), so every replica agrees.</param>
/// <param name="DeployedBy">Who deployed it, as the admin endpoint authenticated them.</param>
/// <param name="RestoredFrom">For a rollback: the version whose spec and pins this release brings back.</param>
public sealed record AppRelease(
    string App,
    int Version,
    AppSpec Spec,
    ImmutableSortedDictionary<string, string> ImagePins,
    DateTimeOffset DeployedAt,
    string DeployedBy,
    int? RestoredFrom = null);

/// <summary>
/// An app's current release and the ones before it, newest first, <see cref="MaxReleases"/> in all.
/// A rollback is a new release (a new version) carrying an older one's spec and pins, so versions only
/// grow and an agent that saw version N knows anything above N is newer.
/// </summary>
public sealed record AppHistory(AppRelease Current, ImmutableArray<AppRelease> Previous)
{
    public const int MaxReleases = 10;

    [JsonIgnore]
    public string App => Current.App;

    /// <summary>The app's first release, version 1.</summary>
    /// <exception cref="AppChangeRejectedException">The pins do not match the spec's components.</exception>
    public static AppHistory Start(AppSpec spec, ImmutableSortedDictionary<string, string> imagePins, DateTimeOffset at, string by) =>
        new(NewRelease(spec, 1, imagePins, at, by), []);

    /// <summary>A new release of <paramref name="spec"/>, one version above the current.</summary>
    /// <exception cref="AppChangeRejectedException">The spec is for another app, or the pins do not match its components.</exception>
    public AppHistory Deploy(AppSpec spec, ImmutableSortedDictionary<string, string> imagePins, DateTimeOffset at, string by)
    {
        if (spec.App != App)
            throw new AppChangeRejectedException($"the spec is for app {spec.App}, not {App}");
        return Push(NewRelease(spec, Current.Version + 1, imagePins, at, by));
    }

    /// <summary>A new release bringing back <paramref name="toVersion"/>, or the release before the current when null.</summary>
    /// <exception cref="AppChangeRejectedException">There is no such earlier release.</exception>
    public AppHistory Rollback(int? toVersion, DateTimeOffset at, string by)
    {
        if (Previous.IsEmpty)
            throw new AppChangeRejectedException($"{App} has only version {Current.Version}: there is no earlier release to roll back to");
        if (toVersion == Current.Version)
            throw new AppChangeRejectedException($"version {Current.Version} of {App} is already the current one");
        var target = toVersion is { } v ? Previous.FirstOrDefault(r => r.Version == v) : Previous[0];
        if (target is null)
        {
            var kept = string.Join(", ", Previous.Select(static r => r.Version));
            throw new AppChangeRejectedException($"version {toVersion} of {App} is not kept; give one of {kept} (the last {MaxReleases} releases are kept)");
        }

        return Push(target with { Version = Current.Version + 1, DeployedAt = at, DeployedBy = by, RestoredFrom = target.Version });
    }

    /// <summary>The release with <paramref name="version"/>, current or kept; null when not kept.</summary>
    public AppRelease? Find(int version) =>
        Current.Version == version ? Current : Previous.FirstOrDefault(r => r.Version == version);

    private AppHistory Push(AppRelease next) => new(next, [Current, .. Previous.Take(MaxReleases - 2)]);

    private static AppRelease NewRelease(AppSpec spec, int version, ImmutableSortedDictionary<string, string> imagePins, DateTimeOffset at, string by)
    {
        var missing = spec.Components.Keys.Where(id => !imagePins.TryGetValue(id, out var pin) || string.IsNullOrWhiteSpace(pin)).ToList();
        var extra = imagePins.Keys.Where(id => !spec.Components.ContainsKey(id)).ToList();
        if (missing.Count > 0)
            throw new AppChangeRejectedException($"no image pin for {string.Join(", ", missing)}: resolve every component's image before deploying");
        if (extra.Count > 0)
            throw new AppChangeRejectedException($"image pins for {string.Join(", ", extra)}, which {spec.App} does not have");
        if (string.IsNullOrWhiteSpace(by))
            throw new AppChangeRejectedException("a release must say who deployed it");
        return new AppRelease(spec.App, version, spec, imagePins.WithComparers(StringComparer.Ordinal), at, by);
    }
}

/// <summary>
/// Every app's history, the document the replicated state keeps in section <see cref="Section"/>.
/// Pure: the leader computes the next catalog and proposes it; every replica stores the same bytes.
/// </summary>
public sealed record AppCatalog(ImmutableSortedDictionary<string, AppHistory> Apps)
{
    public const string Section = "apps";

    public static AppCatalog Empty { get; } = new(ImmutableSortedDictionary<string, AppHistory>.Empty.WithComparers(StringComparer.Ordinal));

    /// <summary>The catalog in <paramref name="state"/>, and its section revision (null when there is none).</summary>
    public static (AppCatalog Catalog, long? Revision) Of(ClusterState state) =>
        state.Sections.TryGetValue(Section, out var section)
            ? (section.Value.Deserialize(RuntimeJsonContext.Default.AppCatalog) ?? Empty, section.Revision)
            : (Empty, null);

    public JsonElement ToJson() => JsonSerializer.SerializeToElement(this, RuntimeJsonContext.Default.AppCatalog);

    /// <summary>Deploys <paramref name="spec"/>: version 1 of a new app, or the next version of an existing one.</summary>
    /// <exception cref="AppChangeRejectedException">The pins do not match the spec's components.</exception>
    public AppCatalog Deploy(AppSpec spec, ImmutableSortedDictionary<string, string> imagePins, DateTimeOffset at, string by) =>
        new(Apps.SetItem(spec.App, Apps.TryGetValue(spec.App, out var history)
            ? history.Deploy(spec, imagePins, at, by)
            : AppHistory.Start(spec, imagePins, at, by)));

    /// <exception cref="AppChangeRejectedException">No such app, or no such earlier release.</exception>
    public AppCatalog Rollback(string app, int? toVersion, DateTimeOffset at, string by) =>
        new(Apps.SetItem(app, Get(app).Rollback(toVersion, at, by)));

    /// <summary>The catalog without <paramref name="app"/> and its history; its instances go with it.</summary>
    /// <exception cref="AppChangeRejectedException">No such app.</exception>
    public AppCatalog Remove(string app)
    {
        Get(app);
        return new(Apps.Remove(app));
    }

    /// <exception cref="AppChangeRejectedException">No such app.</exception>
    public AppHistory Get(string app) =>
        Apps.TryGetValue(app, out var history)
            ? history
            : throw new AppChangeRejectedException(Apps.IsEmpty
                ? $"there is no app named {app}: no app is deployed"
                : $"there is no app named {app}; apps: {string.Join(", ", Apps.Keys)}");
}

/// <summary>A deploy, rollback or removal that cannot be done; the message says why and what to do.</summary>
public sealed class AppChangeRejectedException(string message) : Exception(message);
