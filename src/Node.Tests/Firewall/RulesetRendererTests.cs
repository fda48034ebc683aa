using Nanobox.Node.Firewall;
using static Nanobox.Node.Tests.Firewall.FirewallTestData;

namespace Nanobox.Node.Tests.Firewall;

public sealed class RulesetRendererTests
{
    [Fact]
    public void The_table_is_replaced_in_one_transaction_with_a_default_drop_input_and_no_forward_chain()
    {
        var text = RulesetRenderer.Render(Design(), Peers("198.18.0.2", "fd00:6e62::2"), PeerAddresses.Empty);

        Assert.StartsWith("table inet nanobox\ndelete table inet nanobox\ntable inet nanobox {", text);
        Assert.Contains("type filter hook input priority filter; policy drop;", text);
        Assert.DoesNotContain("hook forward", text);
        Assert.Contains("add element inet nanobox peers4 { 198.18.0.2 }", text);
        Assert.Contains("add element inet nanobox peers6 { fd00:6e62::2 }", text);
        Assert.DoesNotContain("table ip ", text);
    }

    [Fact]
    public void Cluster_ports_open_only_to_the_peer_sets_and_vxlan_from_peers_is_untracked()
    {
        var text = RulesetRenderer.Render(Design(), PeerAddresses.Empty, PeerAddresses.Empty);

        Assert.Contains("ip saddr @peers4 tcp dport { 7946, 7947, 7949 } accept", text);
        Assert.Contains("ip6 saddr @peers6 udp dport { 4789, 7946 } accept", text);
        Assert.Contains("ip saddr @peers4 udp dport 4789 notrack", text);
        Assert.Contains("ip6 daddr @peers6 udp dport 4789 notrack", text);
        Assert.DoesNotContain("tcp dport 7947 accept", text.Replace("{ 7946, 7947, 7949 }", ""));
    }

    [Fact]
    public void Ssh_and_join_are_open_to_everyone_by_default_and_only_to_the_given_networks_otherwise()
    {
        var open = RulesetRenderer.Render(Design(), PeerAddresses.Empty, PeerAddresses.Empty);
        Assert.Contains("\t\ttcp dport 22 accept comment \"nanobox: ssh\"", open);
        Assert.Contains("\t\ttcp dport 7948 limit rate 20/second burst 40 packets accept", open);

        var restricted = RulesetRenderer.Render(
            Design() with { SshFrom = Networks("203.0.113.0/24", "2001:db8::/32"), JoinFrom = Networks("198.18.0.0/24") },
            PeerAddresses.Empty,
            PeerAddresses.Empty);
        Assert.Contains("ip saddr { 203.0.113.0/24 } tcp dport 22 accept", restricted);
        Assert.Contains("ip6 saddr { 2001:db8::/32 } tcp dport 22 accept", restricted);
        Assert.Contains("ip saddr { 198.18.0.0/24 } tcp dport 7948 limit", restricted);
        Assert.DoesNotContain("\t\ttcp dport 22 accept", restricted);
        Assert.DoesNotContain("ip6 saddr { 198.18.0.0/24 }", restricted);
    }

    [Fact]
    public void Operator_rules_come_before_the_built_in_holes_in_order_cluster_first()
    {
        var deny = FirewallRule.Parse(FirewallAction.Deny, "22/tcp", "198.51.100.0/24");
        var allow = FirewallRule.Parse(FirewallAction.Allow, "8000-8100/udp", null);
        var text = RulesetRenderer.Render(Design(deny) with { NodeRules = [allow] }, PeerAddresses.Empty, PeerAddresses.Empty);

        var denyAt = text.IndexOf("ip saddr 198.51.100.0/24 tcp dport 22 drop comment \"cluster: deny 22/tcp from 198.51.100.0/24\"", StringComparison.Ordinal);
        var allowAt = text.IndexOf("udp dport 8000-8100 accept comment \"node: allow 8000-8100/udp\"", StringComparison.Ordinal);
        var sshAt = text.IndexOf(RulesetRenderer.SshComment, StringComparison.Ordinal);
        Assert.True(denyAt > 0 && allowAt > denyAt && sshAt > allowAt, text);
    }

    [Fact]
    public void Established_flows_pass_before_any_operator_rule_but_revoked_addresses_are_cut_before_that()
    {
        var text = RulesetRenderer.Render(Design(FirewallRule.Parse(FirewallAction.Deny, "80/tcp", null)), PeerAddresses.Empty, Peers("198.18.0.9"));

        var cutAt = text.IndexOf("ip saddr @cut4 tcp dport != 7948 drop", StringComparison.Ordinal);
        Assert.True(cutAt > 0 && cutAt < text.IndexOf("ct state established,related accept", StringComparison.Ordinal), text);
        Assert.Contains("ip6 saddr @cut6 meta l4proto != tcp drop", text);
        Assert.True(text.IndexOf("ct state established,related accept", StringComparison.Ordinal) < text.IndexOf("dport 80 drop", StringComparison.Ordinal));
        Assert.Contains("add element inet nanobox cut4 { 198.18.0.9 timeout 600s }", text);
    }

    [Fact]
    public void A_peer_change_is_only_the_difference_and_nothing_when_equal()
    {
        var before = Peers("198.18.0.2", "198.18.0.3");
        var after = Peers("198.18.0.3", "198.18.0.4", "fd00::4");

        var change = RulesetRenderer.RenderPeerChange(before, after, PeerAddresses.Empty, PeerAddresses.Empty);

        Assert.Equal(
            "delete element inet nanobox peers4 { 198.18.0.2 }\n" +
            "add element inet nanobox peers4 { 198.18.0.4 }\n" +
            "add element inet nanobox peers6 { fd00::4 }\n",
            change);
        Assert.Null(RulesetRenderer.RenderPeerChange(after, Peers("fd00::4", "198.18.0.4", "198.18.0.3"), PeerAddresses.Empty, PeerAddresses.Empty));
    }

    [Fact]
    public void A_revoked_peer_is_removed_and_cut_and_a_new_member_at_its_address_is_let_back()
    {
        var cut = RulesetRenderer.RenderPeerChange(Peers("198.18.0.2"), PeerAddresses.Empty, Peers("198.18.0.2"), PeerAddresses.Empty);
        Assert.Contains("delete element inet nanobox peers4 { 198.18.0.2 }", cut);
        Assert.Contains("add element inet nanobox cut4 { 198.18.0.2 timeout 600s }", cut);

        var back = RulesetRenderer.RenderPeerChange(PeerAddresses.Empty, Peers("198.18.0.2"), PeerAddresses.Empty, Peers("198.18.0.2"));
        Assert.Contains("delete element inet nanobox cut4 { 198.18.0.2 }", back);
        Assert.Contains("add element inet nanobox peers4 { 198.18.0.2 }", back);
    }

    [Fact]
    public void Removal_touches_only_our_table_and_succeeds_when_it_is_gone() =>
        Assert.Equal("table inet nanobox\ndelete table inet nanobox\n", RulesetRenderer.RenderRemoval());
}
