namespace Nanobox.Node.Cluster;

/// <summary>
/// The cluster's default ports. The firewall opens Gossip and Control to peers only, and Join to
/// anyone (rate-limited), so keep them distinct. The overlay's VXLAN port is the cluster's setting (Overlay.OverlayNetwork).
/// </summary>
public static class ClusterPorts
{
    /// <summary>SWIM gossip, UDP datagrams and TCP push/pull (memberlist's default port).</summary>
    public const int Gossip = 7946;

    /// <summary>Mutual-TLS control connections: Raft and node-to-node requests.</summary>
    public const int Control = 7947;

    /// <summary>Admission of new nodes: TLS with the node certificate, the joiner pins the CA by the token's digest.</summary>
    public const int Join = 7948;

    /// <summary>Mutual-TLS node-to-node requests beside Raft (which owns Control): writes forwarded to the leader, state for non-voters.</summary>
    public const int Requests = 7949;
}
