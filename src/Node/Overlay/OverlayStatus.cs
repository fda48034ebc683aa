namespace Nanobox.Node.Overlay;

/// <summary>`nanobox overlay show`: what the overlay is on this node and whom it forwards to.</summary>
/// <param name="State">up, waiting (for the cluster's overlay settings or this node's lease), standalone, or error.</param>
/// <param name="Block">This node's lease, e.g. 100.88.1.0/24.</param>
/// <param name="Address">This host's own overlay address.</param>
/// <param name="Vtep">This node's underlay address, where peers send its VXLAN packets.</param>
/// <param name="Endpoints">The overlay addresses live on this node: its own and its containers'.</param>
/// <param name="ReconciledAt">When the kernel last matched the design.</param>
public sealed record OverlayStatus(
    string State,
    string? Subnet,
    string? Block,
    string? Address,
    string? Vtep,
    uint Vni,
    int Port,
    int Mtu,
    string Bridge,
    string Device,
    IReadOnlyList<string> Endpoints,
    OverlayDockerStatus Docker,
    IReadOnlyList<OverlayPeerStatus> Peers,
    string? Error,
    DateTimeOffset? ReconciledAt)
{
    public const string Up = "up";
    public const string Waiting = "waiting";
    public const string Standalone = "standalone";
    public const string Failed = "error";
}

/// <param name="Endpoints">The overlay addresses the peer announced; empty while gossip has not said (what the kernel holds for it is kept meanwhile).</param>
public sealed record OverlayPeerStatus(string Id, string Name, string Vtep, string? Block, IReadOnlyList<string> Endpoints, bool EndpointsKnown);

/// <param name="State">ready (the Docker network exists on the node's bridge), unavailable (no engine answers), or error.</param>
public sealed record OverlayDockerStatus(string Network, string State, string? Error)
{
    public const string Ready = "ready";
    public const string Unavailable = "unavailable";
    public const string Failed = "error";
}
