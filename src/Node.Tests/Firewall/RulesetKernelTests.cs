using Nanobox.Lab;
using Nanobox.Node.Firewall;
using static Nanobox.Node.Tests.Firewall.FirewallTestData;

namespace Nanobox.Node.Tests.Firewall;

/// <summary>
/// The rendered transactions against the real kernel's nftables, each in a network namespace of its own
/// (`unshare --net`) that dies with the command, so nothing reaches this machine's own firewall.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class RulesetKernelTests
{
    private static async Task<KernelTable> ApplyInThrowawayNamespaceAsync(params string[] transactions)
    {
        var files = new List<string>();
        try
        {
            foreach (var transaction in transactions)
            {
                var file = Path.GetTempFileName();
                await File.WriteAllTextAsync(file, transaction);
                files.Add(file);
            }

            var script = string.Join(" && ", files.Select(f => $"nft -f {f}")) + " && nft -j list table inet nanobox";
            var result = await ProcessRunner.RunAsync("unshare", ["--net", "sh", "-c", script]);
            Assert.True(result.Succeeded, result.ToString());
            return FirewallKernel.Parse(result.Stdout);
        }
        finally
        {
            files.ForEach(File.Delete);
        }
    }

    [Fact]
    public async Task The_kernel_takes_the_full_ruleset_and_reports_it_back()
    {
        var design = Design(FirewallRule.Parse(FirewallAction.Deny, "80/tcp", "198.51.100.0/24"), FirewallRule.Parse(FirewallAction.Allow, "60000-61000/udp", "2001:db8::/32"))
            with { SshFrom = Networks("203.0.113.0/24", "2001:db8::/32"), NodeRules = [FirewallRule.Parse(FirewallAction.Allow, "443/tcp", null)] };

        var table = await ApplyInThrowawayNamespaceAsync(RulesetRenderer.Render(design, Peers("198.18.0.2", "198.18.0.3", "fd00:6e62::2"), Peers("198.18.0.9")));

        Assert.Equal("drop", table.InputPolicy);
        Assert.Contains(RulesetRenderer.SshComment, table.Comments);
        Assert.Contains("cluster: deny 80/tcp from 198.51.100.0/24", table.Comments);
        Assert.Contains("node: allow 443/tcp", table.Comments);
        Assert.Equal(Peers("198.18.0.2", "198.18.0.3", "fd00:6e62::2"), table.Peers);
    }

    [Fact]
    public async Task Replacing_twice_and_peer_changes_apply_on_top_and_removal_leaves_nothing()
    {
        var design = Design();
        var before = Peers("198.18.0.2", "198.18.0.3");
        var after = Peers("198.18.0.3", "198.18.0.4", "fd00::4");

        var table = await ApplyInThrowawayNamespaceAsync(
            RulesetRenderer.Render(design, before, PeerAddresses.Empty),
            RulesetRenderer.Render(design, before, PeerAddresses.Empty),
            RulesetRenderer.RenderPeerChange(before, after, Peers("198.18.0.2"), PeerAddresses.Empty)!);

        Assert.Equal(after, table.Peers);

        var removal = await ProcessRunner.RunAsync("unshare", ["--net", "sh", "-c",
            $"printf '%s' '{RulesetRenderer.Render(design, before, PeerAddresses.Empty)}' | nft -f - && printf '%s' '{RulesetRenderer.RenderRemoval()}' | nft -f - && printf '%s' '{RulesetRenderer.RenderRemoval()}' | nft -f - && nft list ruleset"]);
        Assert.True(removal.Succeeded, removal.ToString());
        Assert.DoesNotContain("nanobox", removal.Stdout);
    }
}
