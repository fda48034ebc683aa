using System.Text.Json;
using System.Text.Json.Serialization;

namespace Nanobox.Node.Admin;

/// <summary>GET /v1/status. Field names are part of the CLI's --json contract.</summary>
public sealed record StatusResponse(
    string NodeId,
    string Name,
    string Version,
    long UptimeSeconds,
    string DataDir,
    string Advertise);

/// <summary>An RFC 9457 problem details body: every error the admin API returns.</summary>
public sealed record ProblemResponse(string Type, string Title, int Status, string Detail);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StatusResponse))]
[JsonSerializable(typeof(ProblemResponse))]
public sealed partial class AdminJsonContext : JsonSerializerContext;
