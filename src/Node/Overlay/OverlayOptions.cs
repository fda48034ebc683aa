namespace Nanobox.Node.Overlay;

/// <summary>
/// The [overlay] section of the agent's config. The settings are the cluster's, not the node's: the node that
/// creates the cluster (`cluster init`, or the self-forming creator) writes them into the replicated state,
/// and every member uses what the state says from then on.
/// </summary>
public sealed record OverlayOptions
{
    public string Subnet { get; init; } = OverlayNetwork.DefaultSubnet;

    public uint Vni { get; init; } = OverlayNetwork.DefaultVni;

    public int Port { get; init; } = OverlayNetwork.DefaultPort;

    /// <summary>The settings as the cluster's overlay, after checking them.</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public OverlayNetwork ToNetwork() => OverlayNetwork.Create(Subnet, Vni, Port);
}
