using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;

namespace Nanobox.Node.Firewall;

/// <summary>
/// Everything the ruleset is rendered from except the peers: which ports stay open to whom, and the
/// operators' rules. A change here replaces the whole table (with commit-confirm); a change of peers
/// is only a set-element update.
/// </summary>
/// <param name="SshPorts">The ports sshd listens on, plus configured ones; never empty.</param>
/// <param name="SshFrom">Networks SSH is open to; empty for anywhere.</param>
/// <param name="JoinFrom">Networks the join port is open to; empty for anywhere.</param>
/// <param name="JoinRatePerSecond">New join connections accepted per second from everyone together.</param>
/// <param name="PeerTcpPorts">Cluster TCP ports only peers reach (gossip push/pull, Raft, requests).</param>
/// <param name="PeerUdpPorts">Cluster UDP ports only peers reach (gossip).</param>
/// <param name="OverlayPort">The VXLAN port: only peers, and untracked so overlay flows never fill conntrack.</param>
/// <param name="ClusterRules">Operator rules from the cluster's replicated policy, applied on every node.</param>
/// <param name="NodeRules">Operator rules for this node only.</param>
public sealed record FirewallDesign(
    ImmutableArray<int> SshPorts,
    ImmutableArray<string> SshFrom,
    int JoinPort,
    ImmutableArray<string> JoinFrom,
    int JoinRatePerSecond,
    ImmutableArray<int> PeerTcpPorts,
    ImmutableArray<int> PeerUdpPorts,
    int OverlayPort,
    ImmutableArray<FirewallRule> ClusterRules,
    ImmutableArray<FirewallRule> NodeRules);

/// <summary>
/// The addresses of the cluster's members as the peer sets hold them: per family, sorted by <see cref="Order"/>,
/// each once. Arrays, not a tree: a peer change at 10 000 peers is a merge of two of them, well under a millisecond.
/// </summary>
public sealed record PeerAddresses
{
    /// <summary>By address bytes; written to the stack, since a set of 10 000 peers is sorted often.</summary>
    public static readonly IComparer<IPAddress> Order = Comparer<IPAddress>.Create(static (a, b) =>
    {
        Span<byte> left = stackalloc byte[16];
        Span<byte> right = stackalloc byte[16];
        a.TryWriteBytes(left, out var leftLength);
        b.TryWriteBytes(right, out var rightLength);
        return left[..leftLength].SequenceCompareTo(right[..rightLength]);
    });

    public static PeerAddresses Empty { get; } = new([]);

    public PeerAddresses(IEnumerable<IPAddress> addresses)
    {
        var all = addresses.ToList();
        V4 = Sorted(all.Where(a => a.AddressFamily == AddressFamily.InterNetwork));
        V6 = Sorted(all.Where(a => a.AddressFamily == AddressFamily.InterNetworkV6 && !a.IsIPv4MappedToIPv6));
    }

    private PeerAddresses(ImmutableArray<IPAddress> v4, ImmutableArray<IPAddress> v6) => (V4, V6) = (v4, v6);

    /// <summary>IPv4 addresses, sorted by <see cref="Order"/>, each once.</summary>
    public ImmutableArray<IPAddress> V4 { get; }

    /// <summary>IPv6 addresses (IPv4-mapped ones left out), sorted by <see cref="Order"/>, each once.</summary>
    public ImmutableArray<IPAddress> V6 { get; }

    public int Count => V4.Length + V6.Length;

    public IEnumerable<IPAddress> All => V4.Concat(V6);

    /// <summary>What turns these addresses into <paramref name="to"/>: the ones it adds and the ones it drops.</summary>
    public (PeerAddresses Added, PeerAddresses Removed) ChangeTo(PeerAddresses to)
    {
        var (added4, removed4) = Merge(V4, to.V4);
        var (added6, removed6) = Merge(V6, to.V6);
        return (new(added4, added6), new(removed4, removed6));
    }

    public bool Equals(PeerAddresses? other) =>
        other is not null && V4.SequenceEqual(other.V4, Same) && V6.SequenceEqual(other.V6, Same);

    public override int GetHashCode() => HashCode.Combine(V4.Length, V6.Length);

    private static ImmutableArray<IPAddress> Sorted(IEnumerable<IPAddress> addresses)
    {
        var sorted = addresses.ToList();
        sorted.Sort(Order);
        var distinct = ImmutableArray.CreateBuilder<IPAddress>(sorted.Count);
        foreach (var address in sorted)
        {
            if (distinct.Count == 0 || !Same(distinct[^1], address))
            {
                distinct.Add(address);
            }
        }

        return distinct.DrainToImmutable();
    }

    /// <summary>One pass over both sorted arrays; nearly every step finds two equal addresses, so <see cref="Same"/> tries equality first.</summary>
    private static (ImmutableArray<IPAddress> Added, ImmutableArray<IPAddress> Removed) Merge(ImmutableArray<IPAddress> from, ImmutableArray<IPAddress> to)
    {
        var added = ImmutableArray.CreateBuilder<IPAddress>();
        var removed = ImmutableArray.CreateBuilder<IPAddress>();
        var (f, t) = (0, 0);
        while (f < from.Length || t < to.Length)
        {
            if (f < from.Length && t < to.Length && Same(from[f], to[t]))
            {
                (f, t) = (f + 1, t + 1);
            }
            else if (t == to.Length || (f < from.Length && Order.Compare(from[f], to[t]) < 0))
            {
                removed.Add(from[f++]);
            }
            else
            {
                added.Add(to[t++]);
            }
        }

        return (added.ToImmutable(), removed.ToImmutable());
    }

    /// <summary>The same place in <see cref="Order"/>: equal bytes (a scope id does not make another peer).</summary>
    private static bool Same(IPAddress a, IPAddress b) => a.Equals(b) || Order.Compare(a, b) == 0;
}
