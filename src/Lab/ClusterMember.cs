using System.Text.Json;

namespace Nanobox.Lab;

/// <summary>One row of `nanobox members --json`.</summary>
public sealed record ClusterMember(string Id, string Name, string Address, string State, string Role, bool Leader, string Version)
{
    public bool IsAlive => State == "alive";

    public bool IsDead => State == "dead";

    public bool IsVoter => Role == "voter";

    /// <summary>The rows of `members --json` output.</summary>
    public static IReadOnlyList<ClusterMember> ParseAll(string json) =>
        JsonDocument.Parse(json).RootElement.EnumerateArray().Select(Parse).ToList();

    private static ClusterMember Parse(JsonElement row) => new(
        Text(row, "id"), Text(row, "name"), Text(row, "address"), Text(row, "state"), Text(row, "role"),
        row.GetProperty("leader").GetBoolean(), Text(row, "version"));

    private static string Text(JsonElement row, string name) => row.GetProperty(name).GetString() ?? "";
}
