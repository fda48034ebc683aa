using System.Net;
using Nanobox.Node.Admin;
using Nanobox.Node.Storage;

namespace Nanobox.Node.Host;

/// <summary>This node as the running agent knows it: identity, name and the settings it runs with.</summary>
public sealed class NodeContext(NodeIdentity identity, AgentOptions options, IPAddress advertise)
{
    public NodeIdentity Identity { get; } = identity;
    public AgentOptions Options { get; } = options;
    public IPAddress Advertise { get; } = advertise;

    public StatusResponse Status(ClusterStatus? cluster) => new(
        Identity.Id,
        Options.Name,
        BuildInfo.Version,
        (long)BuildInfo.Uptime.TotalSeconds,
        Options.DataDir,
        Advertise.ToString(),
        cluster);
}
