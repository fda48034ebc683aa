using System.Text.Json.Serialization;
using Nanobox.Node.Storage;

namespace Nanobox.Node.Cluster;

/// <summary>
/// What this node keeps to be a member of its cluster, in its own store: its credentials, the CA
/// certificate it trusts, the gossip key ring and the state key that seals secrets in the replicated
/// state. Written once when the node creates or joins a cluster; its absence means "standalone".
/// </summary>
/// <param name="StateKey">32 bytes; seals the CA key and the join secret inside the Raft state (see <see cref="ClusterSecrets"/>).</param>
/// <param name="Bootstrap">True on the node that created the cluster: its first Raft start forms the one-voter configuration.</param>
/// <param name="Incarnation">Gossip incarnation last used; a restart announces a higher one so a new address wins.</param>
public sealed record LocalCluster(
    string ClusterId,
    string CaCertificatePem,
    string NodeCertificatePem,
    string NodeKeyPem,
    byte[] GossipKeys,
    byte[] StateKey,
    bool Bootstrap,
    uint Incarnation,
    DateTimeOffset JoinedAt)
{
    private const string Collection = "cluster";
    private const string Key = "local";

    public static LocalCluster? Load(INodeStore store) => store.Get(Collection, Key, LocalClusterJsonContext.Default.LocalCluster);

    public void Save(INodeStore store) => store.Put(Collection, Key, this, LocalClusterJsonContext.Default.LocalCluster);

    public static bool Delete(INodeStore store) => store.Delete(Collection, Key);
}

[JsonSerializable(typeof(LocalCluster))]
internal sealed partial class LocalClusterJsonContext : JsonSerializerContext;
