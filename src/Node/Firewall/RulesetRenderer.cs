using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Nanobox.Node.Firewall;

/// <summary>
/// Renders the desired firewall as nftables commands: pure, so every rule is unit-tested, and the
/// kernel edge (<see cref="FirewallKernel"/>) only runs what comes out of here.
/// </summary>
public static class RulesetRenderer
{
    /// <summary>The one table the agent owns; it never reads or writes any other.</summary>
    public const string Table = "inet nanobox";

    public const string Peers4 = "peers4";
    public const string Peers6 = "peers6";

    /// <summary>Addresses of members just revoked: dropped even on established flows, for <see cref="CutFor"/>.</summary>
    public const string Cut4 = "cut4";
    public const string Cut6 = "cut6";

    /// <summary>Long enough for every connection of a revoked node to die; short enough that a reused address is not blocked for good.</summary>
    public static readonly TimeSpan CutFor = TimeSpan.FromMinutes(10);

    /// <summary>The comment on the SSH rule: commit-confirm looks for it in what the kernel reports.</summary>
    public const string SshComment = "nanobox: ssh";

    /// <summary>Echo requests are answered, slowly: enough for ping and path checks, not for a flood.</summary>
    private const string EchoLimit = "limit rate 10/second burst 20 packets";

    /// <summary>Errors and neighbour discovery carry the network (PMTU, ND): a generous limit.</summary>
    private const string ControlLimit = "limit rate 200/second burst 500 packets";

    /// <summary>
    /// The whole table in one transaction: created if missing, deleted and recreated with the peers
    /// in it, so there is no moment without the table and nothing of a previous version survives.
    /// </summary>
    /// <param name="cut">Addresses of revoked members still being cut off (see <see cref="Cut4"/>).</param>
    public static string Render(FirewallDesign design, PeerAddresses peers, PeerAddresses cut)
    {
        var text = new StringBuilder();
        text.Append("table ").Append(Table).Append('\n');
        text.Append("delete table ").Append(Table).Append('\n');
        text.Append("table ").Append(Table).Append(" {\n");
        text.Append("\tset ").Append(Peers4).Append(" { type ipv4_addr; }\n");
        text.Append("\tset ").Append(Peers6).Append(" { type ipv6_addr; }\n");
        text.Append("\tset ").Append(Cut4).Append(" { type ipv4_addr; flags timeout; }\n");
        text.Append("\tset ").Append(Cut6).Append(" { type ipv6_addr; flags timeout; }\n");

        // Overlay datagrams from and to peers skip conntrack: millions of VXLAN flows must not fill it.
        var overlay = Number(design.OverlayPort);
        text.Append("\tchain raw_prerouting {\n\t\ttype filter hook prerouting priority raw; policy accept;\n");
        text.Append("\t\tip saddr @").Append(Peers4).Append(" udp dport ").Append(overlay).Append(" notrack\n");
        text.Append("\t\tip6 saddr @").Append(Peers6).Append(" udp dport ").Append(overlay).Append(" notrack\n\t}\n");
        text.Append("\tchain raw_output {\n\t\ttype filter hook output priority raw; policy accept;\n");
        text.Append("\t\tip daddr @").Append(Peers4).Append(" udp dport ").Append(overlay).Append(" notrack\n");
        text.Append("\t\tip6 daddr @").Append(Peers6).Append(" udp dport ").Append(overlay).Append(" notrack\n\t}\n");

        // No forward chain: Docker's own tables filter forwarded traffic, and a drop here would break it.
        text.Append("\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n");
        // A revoked member is cut from everything but the join port, where it is a stranger like any
        // other: it hears why it cannot come back instead of timing out.
        var join = Number(design.JoinPort);
        foreach (var (match, set) in new[] { ("ip saddr", Cut4), ("ip6 saddr", Cut6) })
        {
            text.Append("\t\t").Append(match).Append(" @").Append(set).Append(" tcp dport != ").Append(join).Append(" drop\n");
            text.Append("\t\t").Append(match).Append(" @").Append(set).Append(" meta l4proto != tcp drop\n");
        }

        text.Append("\t\tct state established,related accept\n");
        text.Append("\t\tct state invalid drop\n");
        text.Append("\t\tiif \"lo\" accept\n");
        text.Append("\t\ticmp type echo-request ").Append(EchoLimit).Append(" accept\n");
        text.Append("\t\ticmp type { destination-unreachable, time-exceeded, parameter-problem } ").Append(ControlLimit).Append(" accept\n");
        text.Append("\t\ticmpv6 type echo-request ").Append(EchoLimit).Append(" accept\n");
        text.Append("\t\ticmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } ")
            .Append(ControlLimit).Append(" accept\n");

        foreach (var (scope, rule) in design.ClusterRules.Select(r => ("cluster", r)).Concat(design.NodeRules.Select(r => ("node", r))))
        {
            AppendOperatorRule(text, scope, rule);
        }

        foreach (var source in Sources(design.SshFrom))
        {
            text.Append("\t\t").Append(source).Append("tcp dport ").Append(PortSet(design.SshPorts)).Append(" accept comment \"").Append(SshComment).Append("\"\n");
        }

        foreach (var source in Sources(design.JoinFrom))
        {
            text.Append("\t\t").Append(source).Append("tcp dport ").Append(Number(design.JoinPort))
                .Append(" limit rate ").Append(Number(design.JoinRatePerSecond)).Append("/second burst ").Append(Number(design.JoinRatePerSecond * 2))
                .Append(" packets accept comment \"nanobox: join\"\n");
        }

        var udp = design.PeerUdpPorts.Append(design.OverlayPort).Distinct().Order().ToList();
        foreach (var (match, set) in new[] { ("ip saddr", Peers4), ("ip6 saddr", Peers6) })
        {
            text.Append("\t\t").Append(match).Append(" @").Append(set).Append(" tcp dport ").Append(PortSet(design.PeerTcpPorts)).Append(" accept comment \"nanobox: peers\"\n");
            text.Append("\t\t").Append(match).Append(" @").Append(set).Append(" udp dport ").Append(PortSet(udp)).Append(" accept comment \"nanobox: peers\"\n");
        }

        text.Append("\t}\n}\n");
        AppendElements(text, "add", peers, timeout: null);
        AppendElements(text, "add", cut, CutFor, Cut4, Cut6);
        return text.ToString();
    }

    /// <summary>Removes the table (and only it); succeeds when it is already gone.</summary>
    public static string RenderRemoval() => $"table {Table}\ndelete table {Table}\n";

    /// <summary>
    /// The set-element updates, in one transaction, that turn the peers <paramref name="from"/> into
    /// <paramref name="to"/>, cut off the addresses in <paramref name="cutAdd"/> at once and lift the cut
    /// from <paramref name="cutLift"/> (a new member at a revoked one's address); null when nothing changes.
    /// </summary>
    public static string? RenderPeerChange(PeerAddresses from, PeerAddresses to, PeerAddresses cutAdd, PeerAddresses cutLift)
    {
        var (added, removed) = from.ChangeTo(to);
        if (added.Count + removed.Count + cutAdd.Count + cutLift.Count == 0)
        {
            return null;
        }

        var text = new StringBuilder();
        AppendElements(text, "delete", removed, timeout: null);
        AppendElements(text, "add", added, timeout: null);
        AppendElements(text, "delete", cutLift, timeout: null, Cut4, Cut6);
        AppendElements(text, "add", cutAdd, CutFor, Cut4, Cut6);
        return text.ToString();
    }

    private static void AppendOperatorRule(StringBuilder text, string scope, FirewallRule rule)
    {
        var source = rule.From is null ? "" : $"{(rule.From.Contains(':') ? "ip6" : "ip")} saddr {rule.From} ";
        text.Append("\t\t").Append(source)
            .Append(rule.Protocol == FirewallProtocol.Tcp ? "tcp" : "udp").Append(" dport ").Append(rule.PortText)
            .Append(rule.Action == FirewallAction.Allow ? " accept" : " drop")
            .Append(" comment \"").Append(scope).Append(": ").Append(rule).Append("\"\n");
    }

    /// <summary>One match prefix per address family the networks cover, or one empty prefix for anywhere.</summary>
    private static IEnumerable<string> Sources(IReadOnlyCollection<string> networks)
    {
        if (networks.Count == 0)
        {
            yield return "";
            yield break;
        }

        var v4 = networks.Where(n => !n.Contains(':')).ToList();
        var v6 = networks.Where(n => n.Contains(':')).ToList();
        if (v4.Count > 0)
        {
            yield return $"ip saddr {{ {string.Join(", ", v4)} }} ";
        }

        if (v6.Count > 0)
        {
            yield return $"ip6 saddr {{ {string.Join(", ", v6)} }} ";
        }
    }

    private static void AppendElements(StringBuilder text, string verb, PeerAddresses addresses, TimeSpan? timeout, string set4 = Peers4, string set6 = Peers6)
    {
        foreach (var (set, members) in new[] { (set4, addresses.V4), (set6, addresses.V6) })
        {
            if (members.IsEmpty)
            {
                continue;
            }

            text.Append(verb).Append(" element ").Append(Table).Append(' ').Append(set).Append(" { ");
            var first = true;
            foreach (var address in members)
            {
                text.Append(first ? "" : ", ").Append(address);
                if (timeout is { } t)
                {
                    text.Append(" timeout ").Append(Number((int)t.TotalSeconds)).Append('s');
                }

                first = false;
            }

            text.Append(" }\n");
        }
    }

    private static string PortSet(IReadOnlyCollection<int> ports) =>
        ports.Count == 1 ? Number(ports.First()) : $"{{ {string.Join(", ", ports.Order().Select(Number))} }}";

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);
}
