using Nanobox.Node.Cluster;

namespace Nanobox.Node.Firewall;

/// <summary>
/// Refuses, before anything is stored, the operator rules that would cut SSH or the cluster, or open
/// the cluster's ports to strangers: commit-confirm would roll the first kind back anyway, and the
/// second would quietly weaken every node. `--force` skips this (commit-confirm still guards).
/// </summary>
public static class FirewallRuleGuard
{
    /// <param name="overlayPort">The cluster's VXLAN port (configurable, so not a constant).</param>
    /// <returns>Why the rule is refused, with the way out; null when it is fine.</returns>
    public static string? Check(FirewallRule rule, IReadOnlyCollection<int> sshPorts, int overlayPort)
    {
        (int Port, FirewallProtocol Protocol)[] peerPorts =
        [
            (ClusterPorts.Gossip, FirewallProtocol.Tcp),
            (ClusterPorts.Control, FirewallProtocol.Tcp),
            (ClusterPorts.Requests, FirewallProtocol.Tcp),
            (ClusterPorts.Gossip, FirewallProtocol.Udp),
            (overlayPort, FirewallProtocol.Udp),
        ];

        if (rule.Action == FirewallAction.Deny)
        {
            if (sshPorts.FirstOrDefault(p => rule.Covers(p, FirewallProtocol.Tcp)) is var ssh and > 0)
            {
                return $"'{rule}' would close SSH (sshd listens on {ssh}){Scope(rule)}: commit-confirm would roll it back. " +
                    "To limit who reaches SSH, set firewall.ssh_from in the agent's config; pass --force to apply it anyway.";
            }

            if (peerPorts.FirstOrDefault(p => rule.Covers(p.Port, p.Protocol)) is { Port: > 0 } peer)
            {
                return $"'{rule}' would cut the cluster's port {peer.Port}/{Name(peer.Protocol)}{Scope(rule)}: members could no longer reach this node. Pass --force to apply it anyway.";
            }

            if (rule.Covers(ClusterPorts.Join, FirewallProtocol.Tcp) && rule.From is null)
            {
                return $"'{rule}' would close the join port {ClusterPorts.Join} to everyone: no node could join through this one. " +
                    "To limit who may join, set firewall.join_from; pass --force to apply it anyway.";
            }
        }
        else if (peerPorts.FirstOrDefault(p => rule.Covers(p.Port, p.Protocol)) is { Port: > 0 } open)
        {
            return $"'{rule}' would open the cluster's port {open.Port}/{Name(open.Protocol)} to nodes outside the cluster; members are let through already. Pass --force to apply it anyway.";
        }

        return null;
    }

    private static string Scope(FirewallRule rule) => rule.From is null ? "" : $" for {rule.From}";

    private static string Name(FirewallProtocol protocol) => protocol == FirewallProtocol.Tcp ? "tcp" : "udp";
}
