using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nanobox.Node.Cluster;
using Nanobox.Node.Firewall;

namespace Nanobox.Node.Admin;

/// <summary>/v1/firewall: the host firewall's state, operators' rules, disable and enable.</summary>
public static class FirewallApi
{
    public static void MapFirewallApi(this RouteGroupBuilder v1)
    {
        v1.MapGet("/firewall", (FirewallManager firewall, ClusterService cluster) =>
            Results.Json(firewall.Status(cluster), AdminJsonContext.Default.FirewallStatus));

        v1.MapPost("/firewall/rules", async (FirewallRuleRequest request, FirewallManager firewall, ClusterService cluster, CancellationToken ct) =>
        {
            FirewallRule rule;
            try
            {
                rule = FirewallRule.Parse(request.Action switch
                {
                    "allow" => FirewallAction.Allow,
                    "deny" => FirewallAction.Deny,
                    _ => throw new FormatException($"'{request.Action}' is not a rule action: use allow or deny."),
                }, request.Ports, request.From);
            }
            catch (FormatException ex)
            {
                return Problems.Result(StatusCodes.Status400BadRequest, "Bad rule", ex.Message);
            }

            if (!request.Remove && !request.Force && FirewallRuleGuard.Check(rule, firewall.Status(cluster).SshPorts, firewall.OverlayPort(cluster.View())) is { } refusal)
            {
                return Problems.Result(StatusCodes.Status409Conflict, "Refused", refusal);
            }

            Func<FirewallPolicy, FirewallPolicy> edit = request.Remove ? p => p.Without(rule) : p => p.With(rule);
            FirewallChange change;
            if (request.Node)
            {
                change = await firewall.SetNodeRulesAsync(cluster, edit, ct);
            }
            else
            {
                try
                {
                    await cluster.UpdateSectionAsync(state =>
                    {
                        var (policy, revision) = FirewallPolicy.Of(state);
                        return new Cluster.Consensus.PutSectionCommand(FirewallPolicy.Section, edit(policy).ToJson(), revision ?? 0);
                    }, ct);
                }
                catch (ClusterException ex)
                {
                    return ClusterApi.Problem(ex);
                }

                change = await firewall.ReconcileAsync(cluster, ct);
            }

            var scope = request.Node ? "node" : "cluster";
            return change.Outcome == FirewallChange.RolledBack
                ? Problems.Result(StatusCodes.Status409Conflict, "Rolled back",
                    $"'{rule}' is in the {scope} policy, but this node rolled the new ruleset back: {change.Reason}. " +
                    $"Take it out with `nanobox firewall remove {rule.ToString().Replace(" from ", " --from ", StringComparison.Ordinal)}{(request.Node ? " --node" : "")}`.")
                : Results.Json(new FirewallRuleResponse(rule.ToString(), scope, request.Remove ? "removed" : "added", change), AdminJsonContext.Default.FirewallRuleResponse);
        });

        v1.MapPost("/firewall/disable", async (FirewallManager firewall, ClusterService cluster, CancellationToken ct) =>
        {
            await firewall.DisableAsync(ct);
            return Results.Json(firewall.Status(cluster), AdminJsonContext.Default.FirewallStatus);
        });

        v1.MapPost("/firewall/enable", async (FirewallManager firewall, ClusterService cluster, CancellationToken ct) =>
        {
            await firewall.EnableAsync(cluster, ct);
            return Results.Json(firewall.Status(cluster), AdminJsonContext.Default.FirewallStatus);
        });
    }
}
