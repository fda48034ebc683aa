using Nanobox.Node.Firewall;

namespace Nanobox.Node.Tests.Firewall;

public sealed class FirewallRuleTests
{
    [Theory]
    [InlineData("443/tcp", null, "allow 443/tcp")]
    [InlineData("8000-8100/UDP", null, "allow 8000-8100/udp")]
    [InlineData("53/udp", "10.1.2.3/8", "allow 53/udp from 10.0.0.0/8")]
    [InlineData("22/tcp", "203.0.113.7", "allow 22/tcp from 203.0.113.7/32")]
    [InlineData("22/tcp", "2001:db8::1/32", "allow 22/tcp from 2001:db8::/32")]
    public void Rules_parse_and_normalise(string ports, string? from, string expected) =>
        Assert.Equal(expected, FirewallRule.Parse(FirewallAction.Allow, ports, from).ToString());

    [Theory]
    [InlineData("443", null, "no protocol")]
    [InlineData("443/icmp", null, "not a protocol")]
    [InlineData("0/tcp", null, "not a port")]
    [InlineData("70000/tcp", null, "not a port")]
    [InlineData("90-80/tcp", null, "not a port")]
    [InlineData("1-2-3/tcp", null, "not a port")]
    [InlineData("80/tcp", "example.com", "not an address")]
    [InlineData("80/tcp", "10.0.0.0/33", "prefix length")]
    public void Bad_rules_are_refused_with_the_right_form(string ports, string? from, string message)
    {
        var ex = Assert.Throws<FormatException>(() => FirewallRule.Parse(FirewallAction.Deny, ports, from));
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void Policies_add_once_and_remove_by_value()
    {
        var rule = FirewallRule.Parse(FirewallAction.Allow, "80/tcp", null);
        var policy = FirewallPolicy.Empty.With(rule).With(rule);

        Assert.Single(policy.Rules);
        Assert.Empty(policy.Without(FirewallRule.Parse(FirewallAction.Allow, "80/tcp", null)).Rules);
    }

    [Theory]
    [InlineData("deny", "22/tcp", null, "would close SSH")]
    [InlineData("deny", "1-1024/tcp", "198.51.100.0/24", "would close SSH")]
    [InlineData("deny", "7947/tcp", null, "cluster's port 7947/tcp")]
    [InlineData("deny", "4789/udp", null, "cluster's port 4789/udp")]
    [InlineData("deny", "8472/udp", null, "cluster's port 8472/udp")]
    [InlineData("deny", "7948/tcp", null, "join port")]
    [InlineData("allow", "7946/udp", null, "to nodes outside the cluster")]
    public void Rules_that_would_cut_ssh_or_the_cluster_or_open_it_are_refused(string action, string ports, string? from, string message)
    {
        var rule = FirewallRule.Parse(action == "allow" ? FirewallAction.Allow : FirewallAction.Deny, ports, from);
        Assert.Contains(message, FirewallRuleGuard.Check(rule, [22], overlayPort: ports == "8472/udp" ? 8472 : 4789));
    }

    [Theory]
    [InlineData("deny", "80/tcp", null)]
    [InlineData("deny", "7948/tcp", "198.51.100.0/24")]
    [InlineData("allow", "7948/tcp", null)]
    [InlineData("allow", "22/tcp", null)]
    [InlineData("deny", "4789/udp", null)]
    public void Ordinary_rules_pass_the_guard(string action, string ports, string? from) =>
        Assert.Null(FirewallRuleGuard.Check(FirewallRule.Parse(action == "allow" ? FirewallAction.Allow : FirewallAction.Deny, ports, from), [22], overlayPort: 8472));
}
