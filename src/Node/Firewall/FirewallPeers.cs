using System.Collections.Immutable;
using System.Net;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Cluster.Membership;

namespace Nanobox.Node.Firewall;

/// <summary>What gossip last said about a member: its state, since when, the addresses and labels it announced.</summary>
public sealed record GossipSighting(MemberState State, DateTimeOffset Since, IReadOnlyList<IPAddress> Addresses, IReadOnlyDictionary<string, string>? Labels = null);

/// <summary>
/// Remembers what gossip said of each member, so a dead member that gossip has since reaped stays dead
/// (and its grace time keeps counting) instead of looking like one gossip never heard of.
/// </summary>
public sealed class GossipSightings
{
    private readonly Dictionary<string, GossipSighting> _seen = new(StringComparer.Ordinal);

    /// <summary>Records <paramref name="members"/> and returns every sighting so far.</summary>
    public IReadOnlyDictionary<string, GossipSighting> Track(IReadOnlyList<Member> members)
    {
        foreach (var member in members)
        {
            _seen[member.Id] = new GossipSighting(member.State, member.StateChangedAt, member.Meta.Addresses, member.Meta.Labels);
        }

        return _seen;
    }
}

/// <summary>
/// Decides who is let through: the firewall follows membership, never the other way round. A node is
/// a peer only while the replicated state lists it as a member (so never once removed or revoked);
/// gossip can only take it out (left, or dead past the grace time) or add addresses it announced.
/// The overlay takes the same peers: only a node let through the firewall may put frames on it.
/// </summary>
public static class FirewallPeers
{
    /// <returns>Each admitted member's addresses, by node id.</returns>
    public static ImmutableSortedDictionary<string, ImmutableArray<IPAddress>> Admit(
        ClusterState state, string selfId, IReadOnlyDictionary<string, GossipSighting> gossip, DateTimeOffset now, TimeSpan deadGrace)
    {
        var admitted = ImmutableSortedDictionary.CreateBuilder<string, ImmutableArray<IPAddress>>(StringComparer.Ordinal);
        foreach (var member in state.Members.Values)
        {
            if (member.NodeId == selfId || state.Revocations.ContainsKey(member.NodeId))
            {
                continue;
            }

            var addresses = member.Addresses.Select(a => IPAddress.TryParse(a, out var parsed) ? parsed : null).OfType<IPAddress>();
            if (gossip.TryGetValue(member.NodeId, out var seen))
            {
                if (seen.State == MemberState.Left || (seen.State == MemberState.Dead && now - seen.Since > deadGrace))
                {
                    continue;
                }

                addresses = addresses.Concat(seen.Addresses);
            }

            admitted[member.NodeId] = [.. addresses.Select(a => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a).Distinct()];
        }

        return admitted.ToImmutable();
    }

    public static PeerAddresses Addresses(IReadOnlyDictionary<string, ImmutableArray<IPAddress>> admitted) =>
        new(admitted.Values.SelectMany(a => a));
}
