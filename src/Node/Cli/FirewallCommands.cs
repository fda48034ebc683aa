using System.CommandLine;
using Nanobox.Node.Admin;
using Nanobox.Node.Firewall;

namespace Nanobox.Node.Cli;

/// <summary>`nanobox firewall allow|deny|remove|show|disable|enable`.</summary>
public static class FirewallCommands
{
    public static Command Build()
    {
        var firewall = new Command("firewall", "The host firewall: default-deny once the node is in a cluster, with holes for SSH, the join port and the cluster's members.");
        firewall.Subcommands.Add(Rule("allow", "Let PORT/PROTO through (for everyone, or --from a network), on every node or --node only."));
        firewall.Subcommands.Add(Rule("deny", "Drop PORT/PROTO (for everyone, or --from a network), before the built-in holes; on every node or --node only."));
        firewall.Subcommands.Add(Remove());
        firewall.Subcommands.Add(Show());
        firewall.Subcommands.Add(Disable());
        firewall.Subcommands.Add(Enable());
        return firewall;
    }

    private static Command Rule(string action, string description) =>
        RuleCommand(action, description, remove: false, _ => action);

    private static Command Remove()
    {
        var action = new Argument<string>("ACTION") { Description = "allow or deny: the kind of rule to take out." };
        action.AcceptOnlyFromAmong("allow", "deny");
        var command = RuleCommand("remove", "Take out a rule added with `firewall allow` or `firewall deny` (same arguments).", remove: true, parse => parse.GetValue(action)!);
        command.Arguments.Insert(0, action);
        return command;
    }

    private static Command RuleCommand(string name, string description, bool remove, Func<ParseResult, string> actionOf)
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var ports = new Argument<string>("PORT/PROTO") { Description = "A port or range and tcp or udp, e.g. 443/tcp or 60000-61000/udp." };
        var from = new Option<string?>("--from") { Description = "Only for sources in this network (CIDR or address), e.g. 203.0.113.0/24.", HelpName = "CIDR" };
        var node = new Option<bool>("--node") { Description = "This node only, instead of the cluster's policy (which every node applies)." };
        var force = new Option<bool>("--force") { Description = "Apply a rule that would cut SSH or the cluster, or open a cluster port; commit-confirm still rolls back a lockout." };
        var command = new Command(name, description) { ports, from, node, socket, json };
        if (!remove)
        {
            command.Options.Add(force);
        }

        command.SetAction((parse, ct) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var request = new FirewallRuleRequest(actionOf(parse), parse.GetValue(ports)!, parse.GetValue(from), parse.GetValue(node), remove, !remove && parse.GetValue(force));
            var (done, raw) = await client.PostAsync("/v1/firewall/rules", request, AdminJsonContext.Default.FirewallRuleRequest, AdminJsonContext.Default.FirewallRuleResponse, ct);
            var where = done.Scope == "node" ? "this node's rules" : "the cluster's policy (every node applies it)";
            await parse.InvocationConfiguration.Output.WriteLineAsync(parse.GetValue(json) ? raw : $"{(remove ? "Removed" : "Added")} '{done.Rule}' {(remove ? "from" : "to")} {where}; {Describe(done.Change)}.");
            return 0;
        }));
        return command;
    }

    private static string Describe(FirewallChange change) => change.Outcome switch
    {
        FirewallChange.AppliedOutcome => $"applied and confirmed on this node in {change.DurationMs} ms",
        FirewallChange.Unchanged => "nothing to change on this node",
        _ => $"{change.Outcome} on this node",
    };

    private static Command Show()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var command = new Command("show", "Show the firewall: state, SSH ports, peers, operator rules and the last change.") { socket, json };
        command.SetAction((parse, ct) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var (status, raw) = await client.GetAsync("/v1/firewall", AdminJsonContext.Default.FirewallStatus, ct);
            await parse.InvocationConfiguration.Output.WriteLineAsync(parse.GetValue(json) ? raw : Format(status));
            return 0;
        }));
        return command;
    }

    private static string Format(FirewallStatus status)
    {
        var lines = new List<string>
        {
            $"state:      {status.State}{(status.Table ? "" : " (no table in the kernel)")}",
            $"ssh:        {string.Join(", ", status.SshPorts)}/tcp from {Anywhere(status.SshFrom)}",
            $"join:       {Cluster.ClusterPorts.Join}/tcp from {Anywhere(status.JoinFrom)} (rate-limited)",
            $"peers:      {(status.Peers.Count == 0 ? "none" : string.Join(", ", status.Peers))}",
        };
        if (status.LastChange is { } change)
        {
            lines.Add($"last:       {change.Outcome} at {change.At:u}{(change.Reason is null ? "" : $": {change.Reason}")}");
        }

        if (status.Rejected is { } rejected)
        {
            lines.Add($"rejected:   the wanted ruleset was rolled back: {rejected}");
        }

        if (status.Error is { } error)
        {
            lines.Add($"error:      {error}");
        }

        lines.Add("");
        lines.Add(status.Rules.Count == 0
            ? "No operator rules."
            : TextTable.Columns(["SCOPE", "RULE", "APPLIED"], status.Rules.Select(r => new[] { r.Scope, r.Rule, r.Applied ? "yes" : "no" }).ToList()));
        return string.Join('\n', lines);
    }

    private static string Anywhere(IReadOnlyList<string> networks) => networks.Count == 0 ? "anywhere" : string.Join(", ", networks);

    private static Command Disable()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var offline = new Option<bool>("--offline") { Description = "Remove the table directly, without the agent (for when it is stopped; package removal uses this)." };
        var command = new Command("disable", "Remove the firewall's table from the kernel and stop managing it until `firewall enable`. Leaves other tables alone.") { offline, socket, json };
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(offline))
            {
                try
                {
                    using var kernel = new FirewallKernel();
                    kernel.RemoveTable();
                    await parse.InvocationConfiguration.Output.WriteLineAsync($"Removed the table {RulesetRenderer.Table}; no other table was touched.");
                    return 0;
                }
                catch (FirewallException ex)
                {
                    await parse.InvocationConfiguration.Error.WriteLineAsync($"nanobox: {ex.Message}");
                    return Host.ExitCodes.Failed;
                }
            }

            return await ClientOptions.RunAsync(parse, socket, async client =>
            {
                var (status, raw) = await client.PostAsync("/v1/firewall/disable", AdminJsonContext.Default.FirewallStatus, ct);
                await parse.InvocationConfiguration.Output.WriteLineAsync(parse.GetValue(json) ? raw : "Firewall disabled: its table is removed and this host is no longer filtered by nanobox. `nanobox firewall enable` turns it back on.");
                return 0;
            });
        });
        return command;
    }

    private static Command Enable()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var command = new Command("enable", "Manage the firewall again after `firewall disable`: the ruleset is applied and confirmed at once.") { socket, json };
        command.SetAction((parse, ct) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var (status, raw) = await client.PostAsync("/v1/firewall/enable", AdminJsonContext.Default.FirewallStatus, ct);
            await parse.InvocationConfiguration.Output.WriteLineAsync(parse.GetValue(json) ? raw : Format(status));
            return 0;
        }));
        return command;
    }
}
