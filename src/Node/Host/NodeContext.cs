using System.Net;
using Nanobox.Node.Admin;
using Nanobox.Node.Runtime.Instances;
using Nanobox.Node.Runtime.Placement;
using Nanobox.Node.Storage;

namespace Nanobox.Node.Host;

/// <summary>This node as the running agent knows it: identity, name and the settings it runs with.</summary>
public sealed class NodeContext(NodeIdentity identity, AgentOptions options, IPAddress advertise)
{
    public NodeIdentity Identity { get; } = identity;
    public AgentOptions Options { get; } = options;
    public IPAddress Advertise { get; } = advertise;

    /// <summary>What this node offers to app instances: read from the host once.</summary>
    public NodeCapacity Capacity { get; init; } = NodeCapacity.Detect();

    /// <summary>The labels this node gossips: the operator's and its capacity.</summary>
    public IReadOnlyDictionary<string, string> GossipLabels => NodeLabels.Gossiped(Options.Labels, Capacity);

    public StatusResponse Status(ClusterStatus? cluster, RuntimeStatus? runtime) => new(
        Identity.Id,
        Options.Name,
        BuildInfo.Version,
        (long)BuildInfo.Uptime.TotalSeconds,
        Options.DataDir,
        Advertise.ToString(),
        cluster,
        runtime);
}
