namespace Nanobox.Node.Runtime.Docker;

/// <summary>
/// The labels that mark a container or network as the agent's: it lists and touches only objects that
/// carry <see cref="Managed"/> and its own node id, so nothing else on the engine is ever affected.
/// </summary>
public static class ContainerLabels
{
    /// <summary>The reserved namespace: a spec may not set labels in it.</summary>
    public const string Prefix = "io.nanobox.";

    public const string Managed = Prefix + "managed";
    public const string Node = Prefix + "node";
    public const string App = Prefix + "app";
    public const string Component = Prefix + "component";
    public const string Instance = Prefix + "instance";
    public const string Fingerprint = Prefix + "fingerprint";

    /// <summary>Container names: <c>nanobox.&lt;app&gt;.&lt;component&gt;.&lt;instance&gt;</c>.</summary>
    public const string NamePrefix = "nanobox.";

    public static bool IsReserved(string key) => key.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase);

    /// <summary>The engine-side filter that selects this node's objects and nothing else.</summary>
    public static IDictionary<string, IDictionary<string, bool>> OwnedBy(string nodeId) =>
        new Dictionary<string, IDictionary<string, bool>>
        {
            ["label"] = new Dictionary<string, bool> { [$"{Managed}=true"] = true, [$"{Node}={nodeId}"] = true },
        };

    public static bool AreOwnedBy(IDictionary<string, string>? labels, string nodeId) =>
        labels is not null
        && labels.TryGetValue(Managed, out var managed) && managed == "true"
        && labels.TryGetValue(Node, out var node) && node == nodeId;
}
