using System.Collections.Immutable;
using System.Text.Json;

namespace Nanobox.Node.Runtime.Instances;

/// <summary>
/// What this node's reconciler last found: its instances (what it answers when another node asks, for
/// `nanobox ps`) and what it is waiting for (the runtime part of `nanobox status`).
/// </summary>
public sealed class InstanceBoard
{
    private volatile Snapshot _current = new([], RuntimeStatus.Starting);

    private sealed record Snapshot(ImmutableArray<InstanceRow> Rows, RuntimeStatus Status);

    public ImmutableArray<InstanceRow> Rows => _current.Rows;

    public RuntimeStatus Status => _current.Status;

    public void Publish(ImmutableArray<InstanceRow> rows, RuntimeStatus status) => _current = new Snapshot(rows, status);

    /// <summary>The rows as the control request answers them.</summary>
    public JsonElement RowsJson() => InstanceRow.ToJson(Rows);
}

/// <summary>The runtime part of `nanobox status`: whether this node runs what is placed on it, and if not, what it waits for.</summary>
/// <param name="State">ready, waiting, standalone (apps need a cluster) or starting.</param>
/// <param name="Docker">The engine's endpoint and version, or why it does not answer.</param>
/// <param name="Network">The overlay's Docker network and this node's block, once containers can join it.</param>
/// <param name="WaitingFor">Each thing that keeps an instance from running here (no engine, no overlay yet, an image...).</param>
/// <param name="Placed">Instances placed on this node, and <paramref name="Running"/> how many of them run.</param>
public sealed record RuntimeStatus(
    string State,
    string Docker,
    string? Network,
    IReadOnlyList<string> WaitingFor,
    int Placed,
    int Running,
    DateTimeOffset? ReconciledAt)
{
    public const string Ready = "ready";
    public const string Waiting = "waiting";
    public const string Standalone = "standalone";

    public static RuntimeStatus Starting { get; } = new("starting", "", null, [], 0, 0, null);
}
