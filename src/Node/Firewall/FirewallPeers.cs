using System.Collections.Immutable;
using System.Net;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Cluster.Membership;

namespace Nanobox.Node.Firewall;

/// <summary>What gossip last said about a member: its state, since when, and the addresses it announced.</summary>
public sealed record GossipSighting(MemberState State, DateTimeOffset Since, IReadOnlyList<IPAddress> Addresses);

/// <summary>
/// Decides who is let through: the firewall follows membership, never the other way round. A node is
/// a peer only while the replicated state lists it as a member (so never once removed or revoked);
/// gossip can only take it out (left, or dead past the grace time) or add addresses it announced.
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
