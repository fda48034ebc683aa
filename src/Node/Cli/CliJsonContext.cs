using System.Text.Json;
using System.Text.Json.Serialization;

namespace Nanobox.Node.Cli;

/// <summary>`nanobox version --json`.</summary>
public sealed record VersionResponse(string Client, string Agent);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(VersionResponse))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
