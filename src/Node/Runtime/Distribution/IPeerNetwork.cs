using System.Net;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Security;

namespace Nanobox.Node.Runtime.Distribution;

/// <summary>What the node-to-node data paths need of the cluster: its members and the mutual TLS to reach them.</summary>
public interface IPeerNetwork
{
    /// <summary>The cluster as this node sees it now; null while the node is standalone (or its runtime restarts).</summary>
    PeerNetworkView? Peers();
}

/// <param name="SelfId">This node's id.</param>
/// <param name="Members">Every member of the replicated state, this node included.</param>
/// <param name="Security">Mutual TLS with this node's certificate; peers check it against the cluster CA and revocations.</param>
/// <param name="RequestsPort">The members' request port (the same on every member).</param>
public sealed record PeerNetworkView(string SelfId, IReadOnlyList<ClusterMember> Members, IStreamSecurity Security, int RequestsPort)
{
    /// <summary>Every member but this node, by name.</summary>
    public IEnumerable<ClusterMember> Others => Members.Where(m => m.NodeId != SelfId).OrderBy(m => m.Name, StringComparer.Ordinal);

    public ControlPeer RequestsEndPoint(ClusterMember member) =>
        new(member.NodeId, new IPEndPoint(IPAddress.Parse(member.Addresses[0]), RequestsPort));
}
