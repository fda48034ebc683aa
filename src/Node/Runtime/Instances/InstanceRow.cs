using System.Collections.Immutable;
using System.Text.Json;
using Nanobox.Node.Runtime.Spec;

namespace Nanobox.Node.Runtime.Instances;

/// <summary>
/// One instance as `nanobox ps` shows it. Each node reports its own; the node asked merges them with the
/// placement map. Property names and order are the --json contract.
/// </summary>
/// <param name="Component">The component id, e.g. <c>web.main</c>.</param>
/// <param name="Node">The node id it is placed on (or runs on); empty when unplaced.</param>
/// <param name="State">One of <see cref="InstanceStates"/>.</param>
/// <param name="Image">The image as the spec names it.</param>
/// <param name="Digest">What it runs: the pin the release resolved the image to (image id or repo digest).</param>
/// <param name="Restarts">Times the agent started it again after it exited (since the agent started).</param>
/// <param name="Name">The container's name, <c>nanobox.APP.COMPONENT.INDEX</c>.</param>
/// <param name="ExitCode">The last exit code, while it is not running.</param>
/// <param name="Error">Why it is not running, when known (waiting for an image, the overlay, a failed create...).</param>
public sealed record InstanceRow(
    string App,
    string Component,
    string Node,
    string State,
    string? OverlayIp,
    string Image,
    string Digest,
    int Restarts,
    string Name,
    string NodeName,
    int Instance,
    long? ExitCode = null,
    string? Error = null)
{
    /// <summary><c>shop/web.main#0</c></summary>
    public string Key => $"{App}/{Component}#{Instance.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    public static JsonElement ToJson(ImmutableArray<InstanceRow> rows) =>
        JsonSerializer.SerializeToElement(rows, RuntimeJsonContext.Default.ImmutableArrayInstanceRow);

    /// <exception cref="JsonException">Not a list of instances.</exception>
    public static ImmutableArray<InstanceRow> FromJson(JsonElement json) =>
        json.Deserialize(RuntimeJsonContext.Default.ImmutableArrayInstanceRow);
}

/// <summary>The states `nanobox ps` reports.</summary>
public static class InstanceStates
{
    /// <summary>The container runs.</summary>
    public const string Running = "running";

    /// <summary>The container exists and is being started.</summary>
    public const string Starting = "starting";

    /// <summary>It exited; the agent starts it again after its back-off.</summary>
    public const string Exited = "exited";

    /// <summary>It exited quickly several times in a row; the agent keeps trying, ever more slowly.</summary>
    public const string CrashLoop = "crashloop";

    /// <summary>Placed on a node that has not created it yet (the reason is in <c>error</c>).</summary>
    public const string Pending = "pending";

    /// <summary>No node can take it (the reason is in <c>error</c>).</summary>
    public const string Unplaced = "unplaced";

    /// <summary>Its node did not answer.</summary>
    public const string Unknown = "unknown";

    /// <summary>Still on a node it is no longer placed on; the agent there removes it.</summary>
    public const string Removing = "removing";
}
