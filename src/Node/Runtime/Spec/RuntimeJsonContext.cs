using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using Nanobox.Node.Runtime.Instances;
using Nanobox.Node.Runtime.Placement;

namespace Nanobox.Node.Runtime.Spec;

/// <summary>
/// Source-generated JSON for what the runtime keeps in the replicated state: app specs, releases and
/// placements; and what a node reports of its instances to another. Properties in declaration order and sorted collections make equal values byte-identical.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(AppSpec))]
[JsonSerializable(typeof(AppCatalog))]
[JsonSerializable(typeof(PlacementPlan))]
[JsonSerializable(typeof(PlacementMap))]
[JsonSerializable(typeof(ImmutableArray<InstanceRow>))]
public sealed partial class RuntimeJsonContext : JsonSerializerContext;
