using System.Net;

namespace Nanobox.Node.Cluster.Membership;

/// <summary>
/// What a member tells the cluster about itself, gossiped in every alive message. Its encoded size is capped
/// (<see cref="MaxEncodedSize"/>) so an alive message always fits one datagram with room for piggybacked gossip.
/// </summary>
/// <param name="Name">Human-readable host name; not unique, not an identity.</param>
/// <param name="Addresses">Advertised IPv4/IPv6 addresses; the first one carries gossip.</param>
/// <param name="OverlayEndpoint">Underlay endpoint of the overlay tunnel, once the overlay is up.</param>
/// <param name="OverlayVni">Overlay network identifier; 0 until the overlay is configured.</param>
/// <param name="OverlayEndpoints">
/// The overlay addresses live on this node (its own and its containers'), as a bitmap of host numbers in its
/// block (see Overlay.OverlayBlock); empty until the overlay is up. Peers derive each endpoint's MAC from its address.
/// </param>
public sealed record NodeMeta(
    string Name,
    IReadOnlyList<IPAddress> Addresses,
    int GossipPort,
    int ControlPort,
    string Role,
    string Version,
    IReadOnlyDictionary<string, string> Labels,
    IPEndPoint? OverlayEndpoint = null,
    uint OverlayVni = 0,
    byte[]? OverlayEndpoints = null)
{
    /// <summary>memberlist's cap too: large enough for labels, small enough for 1400-byte datagrams.</summary>
    public const int MaxEncodedSize = 512;

    public IPEndPoint GossipEndpoint => new(Addresses[0], GossipPort);

    /// <summary>Throws <see cref="ArgumentException"/> when the metadata cannot be gossiped: no address, a bad port, or too large.</summary>
    public void Validate()
    {
        if (Addresses.Count == 0)
        {
            throw new ArgumentException($"node metadata for '{Name}' has no address to gossip on");
        }

        if (GossipPort is <= 0 or > ushort.MaxValue || ControlPort is < 0 or > ushort.MaxValue)
        {
            throw new ArgumentException($"node metadata for '{Name}' has an invalid port (gossip {GossipPort}, control {ControlPort})");
        }

        if (!GossipCodec.TryMeasure(this, out var size) || size > MaxEncodedSize)
        {
            throw new ArgumentException(
                $"node metadata for '{Name}' is too large to gossip: {(size > 0 ? $"{size} bytes encoded" : "a field over 255 bytes or 255 items")}, " +
                $"the limit is {MaxEncodedSize} bytes; shorten the labels, name or address list");
        }
    }

    public bool Equals(NodeMeta? other) =>
        other is not null
        && Name == other.Name
        && GossipPort == other.GossipPort
        && ControlPort == other.ControlPort
        && Role == other.Role
        && Version == other.Version
        && OverlayVni == other.OverlayVni
        && Equals(OverlayEndpoint, other.OverlayEndpoint)
        && (OverlayEndpoints ?? []).AsSpan().SequenceEqual(other.OverlayEndpoints ?? [])
        && Addresses.SequenceEqual(other.Addresses)
        && Labels.Count == other.Labels.Count
        && Labels.All(l => other.Labels.TryGetValue(l.Key, out var v) && v == l.Value);

    public override int GetHashCode() => HashCode.Combine(Name, GossipPort, Addresses.Count > 0 ? Addresses[0] : null);
}
