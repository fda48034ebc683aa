using System.Collections.Immutable;
using System.Text.Json;
using Nanobox.Node.Runtime.Placement;
using Nanobox.Node.Runtime.Spec;

namespace Nanobox.Node.Runtime.Apps;

/// <summary>POST /v1/apps: the spec file's text (the CLI reads it, so the agent needs no access to the operator's files).</summary>
/// <param name="File">The file's name, for error messages only.</param>
public sealed record AppDeployRequest(string Spec, string? File = null);

/// <summary>POST /v1/apps/{app}/rollback: to <paramref name="Version"/>, or to the release before the current one.</summary>
public sealed record AppRollbackRequest(int? Version = null);

/// <summary>What a deploy, rollback or removal did, and where the app's instances go.</summary>
/// <param name="Outcome">deployed, unchanged (the same spec and images as the current release: nothing written), rolled-back or removed.</param>
/// <param name="Pins">Component id -> the image id or repo digest every node runs.</param>
/// <param name="PlacementKnown">Whether the leader placed this version within the wait; false: `nanobox ps` shows it later.</param>
public sealed record AppChangeResponse(
    string App,
    int Version,
    string Outcome,
    int? RestoredFrom,
    ImmutableSortedDictionary<string, string> Pins,
    bool PlacementKnown,
    IReadOnlyList<InstancePlacement> Placed,
    IReadOnlyList<UnplacedInstance> Unplaced)
{
    public const string Deployed = "deployed";
    public const string Unchanged = "unchanged";
    public const string RolledBack = "rolled-back";
    public const string Removed = "removed";
}

/// <summary>Where one instance is placed.</summary>
public sealed record InstancePlacement(string Instance, string Node, string NodeName);

/// <summary>One row of `nanobox app ls`.</summary>
/// <param name="Instances">Instances the current release asks for; <paramref name="Placed"/> of them have a node.</param>
public sealed record AppSummary(string App, int Version, DateTimeOffset DeployedAt, string DeployedBy, int Components, int Instances, int Placed, int Unplaced);

/// <summary>`nanobox app show APP`: the current release, the ones kept before it, and where its instances are.</summary>
/// <param name="Spec">The current release's spec, as the cluster state keeps it.</param>
public sealed record AppDetails(
    string App,
    AppReleaseSummary Current,
    IReadOnlyList<AppReleaseSummary> History,
    IReadOnlyList<ComponentSummary> Components,
    IReadOnlyList<InstancePlacement> Placed,
    IReadOnlyList<UnplacedInstance> Unplaced,
    JsonElement Spec);

public sealed record AppReleaseSummary(int Version, DateTimeOffset DeployedAt, string DeployedBy, int? RestoredFrom);

/// <param name="Pin">What the image resolved to at deploy.</param>
/// <param name="CpuLimit">CPUs, e.g. <c>0.5</c>.</param>
public sealed record ComponentSummary(string Id, string Image, string Pin, int Replicas, string Memory, string CpuLimit, string User, IReadOnlyList<string> CapAdd);

/// <summary>The spec file is invalid: every error, each with its line, key and fix.</summary>
public sealed class AppSpecInvalidException(IReadOnlyList<AppSpecError> errors)
    : Exception($"the spec has {errors.Count} error{(errors.Count == 1 ? "" : "s")}; nothing was deployed")
{
    public IReadOnlyList<AppSpecError> Errors { get; } = errors;
}
