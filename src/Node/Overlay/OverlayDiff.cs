using System.Collections.Immutable;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Nanobox.Node.Overlay.Netlink;

namespace Nanobox.Node.Overlay;

/// <summary>The overlay's forwarding entries as the kernel holds them now.</summary>
/// <param name="Fdb">The VXLAN device's own table (flood entries and per-MAC destinations).</param>
/// <param name="BridgeEntries">Static entries the bridge holds for the VXLAN port.</param>
/// <param name="Neighbours">Neighbour entries on the bridge device.</param>
public sealed record OverlayEntries(IReadOnlyList<FdbEntry> Fdb, IReadOnlyList<PhysicalAddress> BridgeEntries, IReadOnlyList<Neighbour> Neighbours);

/// <summary>What one reconcile step changes; empty when the kernel already matches.</summary>
public sealed record OverlayChanges(
    ImmutableArray<IPAddress> FloodAdd,
    ImmutableArray<IPAddress> FloodRemove,
    ImmutableArray<FdbEntry> FdbSet,
    ImmutableArray<FdbEntry> FdbRemove,
    ImmutableArray<PhysicalAddress> BridgeAdd,
    ImmutableArray<PhysicalAddress> BridgeRemove,
    ImmutableArray<(IPAddress Address, PhysicalAddress Mac)> NeighbourSet,
    ImmutableArray<IPAddress> NeighbourRemove)
{
    public bool IsEmpty =>
        FloodAdd.IsEmpty && FloodRemove.IsEmpty && FdbSet.IsEmpty && FdbRemove.IsEmpty
        && BridgeAdd.IsEmpty && BridgeRemove.IsEmpty && NeighbourSet.IsEmpty && NeighbourRemove.IsEmpty;

    public int Count =>
        FloodAdd.Length + FloodRemove.Length + FdbSet.Length + FdbRemove.Length
        + BridgeAdd.Length + BridgeRemove.Length + NeighbourSet.Length + NeighbourRemove.Length;
}

/// <summary>
/// The one reconcile step, decided purely: what to add, replace and remove so that the kernel holds exactly
/// the design's entries. Two rules keep it safe on restart: only permanent IPv4 neighbours inside the
/// overlay subnet are ours to remove (the host's own ARP cache is not), and what the kernel holds for a
/// peer whose endpoints gossip has not told yet is kept, not wiped, so forwarding never stops meanwhile.
/// </summary>
public static class OverlayDiff
{
    public static OverlayChanges Compute(OverlayDesign design, OverlayEntries actual)
    {
        var zero = FdbEntry.AllZeroMac;
        var undecided = design.Peers.Where(p => p.Endpoints is null).Select(p => p.Vtep).ToHashSet();

        var wantedFlood = design.Peers.Select(p => p.Vtep).ToHashSet();
        var actualFlood = actual.Fdb.Where(e => e.Mac.Equals(zero) && e.Destination is not null).Select(e => e.Destination!).ToHashSet();

        // MAC -> VTEP for every endpoint a peer announced.
        var wantedFdb = new Dictionary<PhysicalAddress, IPAddress>();
        var wantedNeighbours = new Dictionary<IPAddress, PhysicalAddress>();
        foreach (var peer in design.Peers)
        {
            foreach (var endpoint in peer.Endpoints ?? [])
            {
                var mac = OverlayBlock.MacFor(endpoint);
                wantedFdb[mac] = peer.Vtep;
                wantedNeighbours[endpoint] = mac;
            }
        }

        var actualFdb = actual.Fdb.Where(e => !e.Mac.Equals(zero)).ToList();
        var kept = actualFdb.Where(e => !wantedFdb.ContainsKey(e.Mac) && e.Destination is { } d && undecided.Contains(d)).Select(e => e.Mac).ToHashSet();
        var fdbSet = wantedFdb
            .Where(w => !actualFdb.Any(e => e.Mac.Equals(w.Key) && Equals(e.Destination, w.Value)))
            .Select(w => new FdbEntry(w.Key, w.Value));
        var fdbRemove = actualFdb.Where(e => !wantedFdb.ContainsKey(e.Mac) && !kept.Contains(e.Mac));

        var wantedBridge = wantedFdb.Keys.Concat(kept).ToHashSet();
        var actualBridge = actual.BridgeEntries.ToHashSet();

        var ours = actual.Neighbours
            .Where(n => n.State.HasFlag(NeighbourState.Permanent) && n.Address.AddressFamily == AddressFamily.InterNetwork && design.Subnet.Contains(n.Address))
            .ToList();
        var neighbourSet = wantedNeighbours.Where(w => !ours.Any(n => n.Address.Equals(w.Key) && w.Value.Equals(n.Mac)));
        var neighbourRemove = ours.Where(n => !wantedNeighbours.ContainsKey(n.Address) && !(n.Mac is { } mac && kept.Contains(mac)));

        return new OverlayChanges(
            [.. wantedFlood.Where(v => !actualFlood.Contains(v)).Order(AddressOrder)],
            [.. actualFlood.Where(v => !wantedFlood.Contains(v)).Order(AddressOrder)],
            [.. fdbSet.OrderBy(e => e.Mac.ToString(), StringComparer.Ordinal)],
            [.. fdbRemove.OrderBy(e => e.Mac.ToString(), StringComparer.Ordinal)],
            [.. wantedBridge.Where(m => !actualBridge.Contains(m)).OrderBy(m => m.ToString(), StringComparer.Ordinal)],
            [.. actualBridge.Where(m => !wantedBridge.Contains(m)).OrderBy(m => m.ToString(), StringComparer.Ordinal)],
            [.. neighbourSet.Select(w => (w.Key, w.Value)).OrderBy(w => w.Key, AddressOrder)],
            [.. neighbourRemove.Select(n => n.Address).Order(AddressOrder)]);
    }

    private static readonly IComparer<IPAddress> AddressOrder = Comparer<IPAddress>.Create(static (a, b) =>
        a.GetAddressBytes().AsSpan().SequenceCompareTo(b.GetAddressBytes()));
}
