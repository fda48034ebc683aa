using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using Nanobox.Node.Cluster.Consensus;

namespace Nanobox.Node.Overlay;

/// <summary>
/// The cluster's overlay, as the replicated state holds it (section <see cref="Section"/>): one IPv4 subnet,
/// the VXLAN identifier and UDP port every node uses, and each member's lease of one /24 block of the subnet.
/// Leases change only by compare-and-set on the section's revision, so no two nodes ever hold the same block.
/// </summary>
/// <param name="Subnet">The whole overlay, e.g. 100.88.0.0/16; containers on every host share it as one L2 network.</param>
/// <param name="Leases">Block index by node id. Index 0 is never leased (its addresses read like the subnet's own).</param>
public sealed record OverlayNetwork(string Subnet, uint Vni, int Port, ImmutableSortedDictionary<string, int> Leases)
{
    public const string Section = "overlay";

    /// <summary>Every node's block is a /24: 253 container addresses after the host's own (.1).</summary>
    public const int BlockPrefixLength = 24;

    /// <summary>Shared address space (RFC 6598): not routed on the internet, rarely used inside data centres or clouds.</summary>
    public const string DefaultSubnet = "100.88.0.0/16";

    public const uint DefaultVni = 4242;

    /// <summary>IANA's VXLAN port; configurable because VMware NSX and some clouds already use 4789 or 8472.</summary>
    public const int DefaultPort = 4789;

    /// <summary>/8 holds 65 535 blocks; /23 holds one besides the never-leased block 0.</summary>
    private const int MinPrefixLength = 8;
    private const int MaxPrefixLength = BlockPrefixLength - 1;

    /// <summary>VNIs are 24 bits.</summary>
    public const uint MaxVni = (1 << 24) - 1;

    [JsonIgnore]
    public IPNetwork SubnetNetwork => IPNetwork.Parse(Subnet);

    /// <summary>How many blocks the subnet has, block 0 included.</summary>
    [JsonIgnore]
    public int BlockCount => 1 << (BlockPrefixLength - SubnetNetwork.PrefixLength);

    /// <summary>A new overlay with no leases, after checking every setting.</summary>
    /// <exception cref="ArgumentException">A setting is out of range; the message names it and the fix.</exception>
    public static OverlayNetwork Create(string subnet, uint vni, int port)
    {
        var network = ParseSubnet(subnet);
        if (vni is 0 or > MaxVni)
        {
            throw new ArgumentException($"overlay VNI {vni} is out of range: give 1 to {MaxVni}");
        }

        if (port is < 1 or > ushort.MaxValue)
        {
            throw new ArgumentException($"overlay port {port} is not a UDP port: give 1 to 65535 (default {DefaultPort})");
        }

        return new OverlayNetwork(network.ToString(), vni, port, ImmutableSortedDictionary.Create<string, int>(StringComparer.Ordinal));
    }

    /// <exception cref="ArgumentException">Not an IPv4 network between /8 and /23 with its host bits zero.</exception>
    public static IPNetwork ParseSubnet(string text)
    {
        // IPNetwork accepts host bits (10.0.0.1/16); an overlay written that way is a typo, not a network.
        if (!IPNetwork.TryParse(text, out var network) || network.BaseAddress.AddressFamily != AddressFamily.InterNetwork
            || !IPAddress.TryParse(text.Split('/')[0], out var written) || !written.Equals(network.BaseAddress))
        {
            throw new ArgumentException($"overlay subnet '{text}' is not an IPv4 network: write ADDRESS/PREFIX with the host bits zero, e.g. {DefaultSubnet}");
        }

        return network.PrefixLength is >= MinPrefixLength and <= MaxPrefixLength
            ? network
            : throw new ArgumentException($"overlay subnet {text} must be between /{MinPrefixLength} and /{MaxPrefixLength}: every node takes a /{BlockPrefixLength} of it");
    }

    /// <summary>The overlay in <paramref name="state"/> and its section revision; null before the cluster has one.</summary>
    public static (OverlayNetwork Network, long Revision)? Of(ClusterState state) =>
        state.Sections.TryGetValue(Section, out var section) && section.Value.Deserialize(OverlayJsonContext.Default.OverlayNetwork) is { } network
            ? (network, section.Revision)
            : null;

    /// <summary>Writes this document over the one at <paramref name="expectedRevision"/> (0: there must be none yet).</summary>
    public PutSectionCommand Put(long expectedRevision) =>
        new(Section, JsonSerializer.SerializeToElement(this, OverlayJsonContext.Default.OverlayNetwork), expectedRevision);

    /// <summary>This overlay with a lease for <paramref name="nodeId"/>: the lowest free block; unchanged when it holds one.</summary>
    /// <exception cref="OverlayFullException">Every block is leased.</exception>
    public OverlayNetwork WithLease(string nodeId)
    {
        if (Leases.ContainsKey(nodeId))
        {
            return this;
        }

        var taken = Leases.Values.ToHashSet();
        for (var index = 1; index < BlockCount; index++)
        {
            if (!taken.Contains(index))
            {
                return this with { Leases = Leases.SetItem(nodeId, index) };
            }
        }

        throw new OverlayFullException($"every one of the {BlockCount - 1} blocks of overlay {Subnet} is leased; remove members that are gone (`nanobox cluster remove`), or create the cluster with a larger subnet");
    }

    /// <summary>This overlay without the leases of nodes that are no longer members (removed: their blocks are free again).</summary>
    public OverlayNetwork WithoutLeasesOutside(IEnumerable<string> memberIds)
    {
        var members = memberIds.ToHashSet(StringComparer.Ordinal);
        var gone = Leases.Keys.Where(id => !members.Contains(id)).ToList();
        return gone.Count == 0 ? this : this with { Leases = Leases.RemoveRange(gone) };
    }

    /// <summary>The block leased to <paramref name="nodeId"/>, or null when it holds none.</summary>
    public OverlayBlock? BlockOf(string nodeId) =>
        Leases.TryGetValue(nodeId, out var index) ? OverlayBlock.Of(SubnetNetwork, index) : null;

    public bool Equals(OverlayNetwork? other) =>
        other is not null && Subnet == other.Subnet && Vni == other.Vni && Port == other.Port && Leases.SequenceEqual(other.Leases);

    public override int GetHashCode() => HashCode.Combine(Subnet, Vni, Port, Leases.Count);
}

public sealed class OverlayFullException(string message) : Exception(message);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(OverlayNetwork))]
internal sealed partial class OverlayJsonContext : JsonSerializerContext;
