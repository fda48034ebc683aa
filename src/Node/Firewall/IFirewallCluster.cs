using System.Net;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Cluster.Membership;

namespace Nanobox.Node.Firewall;

/// <summary>The cluster as the firewall needs it: who the members are, and a way to ask one to probe back.</summary>
public interface IFirewallCluster
{
    /// <summary>The node's view of its cluster now, or null while it has none (standalone, or the runtime restarting).</summary>
    FirewallClusterView? View();

    /// <summary>Asks member <paramref name="nodeId"/> at <paramref name="address"/> to open new TCP connections back to this node.</summary>
    Task<IReadOnlyList<PortReach>> ProbeBackAsync(string nodeId, IPAddress address, IReadOnlyList<int> ports, CancellationToken cancellationToken);
}

/// <param name="Gossip">Every member gossip knows, this node included.</param>
/// <param name="RequestsPort">This node's control request port: peers must reach it, so commit-confirm probes it.</param>
public sealed record FirewallClusterView(string SelfId, ClusterState State, IReadOnlyList<Member> Gossip, int RequestsPort);
