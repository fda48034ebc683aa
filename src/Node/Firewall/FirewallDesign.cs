using System.Collections.Immutable;
using System.Net;

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

/// <summary>The addresses of the cluster's members as the peer sets hold them.</summary>
public sealed record PeerAddresses(ImmutableSortedSet<IPAddress> V4, ImmutableSortedSet<IPAddress> V6)
{
    public static readonly IComparer<IPAddress> Order = Comparer<IPAddress>.Create(static (a, b) =>
        a.GetAddressBytes().AsSpan().SequenceCompareTo(b.GetAddressBytes()));

    public static PeerAddresses Empty { get; } = new([]);

    public PeerAddresses(IEnumerable<IPAddress> addresses)
        : this(
            addresses.Where(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork).ToImmutableSortedSet(Order),
            addresses.Where(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !a.IsIPv4MappedToIPv6).ToImmutableSortedSet(Order))
    {
    }

    public int Count => V4.Count + V6.Count;

    public IEnumerable<IPAddress> All => V4.Concat(V6);

    public bool Equals(PeerAddresses? other) => other is not null && V4.SetEquals(other.V4) && V6.SetEquals(other.V6);

    public override int GetHashCode() => HashCode.Combine(V4.Count, V6.Count);
}
