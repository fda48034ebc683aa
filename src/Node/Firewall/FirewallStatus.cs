namespace Nanobox.Node.Firewall;

/// <summary>`nanobox firewall show --json`.</summary>
/// <param name="State">active, disabled, standalone (not in a cluster: nothing applied) or error.</param>
/// <param name="Table">Whether the kernel holds the `inet nanobox` table now.</param>
/// <param name="Peers">The peer sets' addresses as the kernel holds them.</param>
/// <param name="Rejected">Why the wanted ruleset is not applied (commit-confirm rolled it back), or null.</param>
public sealed record FirewallStatus(
    string State,
    bool Table,
    IReadOnlyList<int> SshPorts,
    IReadOnlyList<string> SshFrom,
    IReadOnlyList<string> JoinFrom,
    IReadOnlyList<string> Peers,
    IReadOnlyList<FirewallRuleView> Rules,
    string? Rejected,
    FirewallChange? LastChange,
    string? Error);

/// <param name="Scope">cluster (every node) or node (this node only).</param>
/// <param name="Applied">Whether the kernel's table holds the rule now.</param>
public sealed record FirewallRuleView(string Scope, string Rule, string Action, string Ports, string Protocol, string? From, bool Applied)
{
    public static FirewallRuleView Of(string scope, FirewallRule rule, bool applied) => new(
        scope,
        rule.ToString(),
        rule.Action == FirewallAction.Allow ? "allow" : "deny",
        rule.PortText,
        rule.Protocol == FirewallProtocol.Tcp ? "tcp" : "udp",
        rule.From,
        applied);
}

/// <param name="Outcome">applied, rolled-back, disabled or unchanged.</param>
public sealed record FirewallChange(DateTimeOffset At, string Outcome, string? Reason, long DurationMs)
{
    public const string AppliedOutcome = "applied";
    public const string RolledBack = "rolled-back";
    public const string Disabled = "disabled";
    public const string Unchanged = "unchanged";

    public static FirewallChange Nothing { get; } = new(DateTimeOffset.MinValue, Unchanged, null, 0);
}
