using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using Nanobox.Node.Cluster.Consensus;

namespace Nanobox.Node.Firewall;

/// <summary>
/// Operators' rules. The cluster's live in the replicated state (section <see cref="Section"/>) and
/// apply on every node; a node's own live in its store. Both are ordered lists: first added, first matched.
/// </summary>
public sealed record FirewallPolicy(ImmutableArray<FirewallRule> Rules)
{
    public const string Section = "firewall";

    public static FirewallPolicy Empty { get; } = new(ImmutableArray<FirewallRule>.Empty);

    /// <summary>The cluster policy in <paramref name="state"/>, and its section revision (null when there is none).</summary>
    public static (FirewallPolicy Policy, long? Revision) Of(ClusterState state) =>
        state.Sections.TryGetValue(Section, out var section)
            ? (section.Value.Deserialize(FirewallJsonContext.Default.FirewallPolicy) ?? Empty, section.Revision)
            : (Empty, null);

    public JsonElement ToJson() => JsonSerializer.SerializeToElement(this, FirewallJsonContext.Default.FirewallPolicy);

    /// <summary>The policy with <paramref name="rule"/> added at the end; unchanged when it is already there.</summary>
    public FirewallPolicy With(FirewallRule rule) => Rules.Contains(rule) ? this : new(Rules.Add(rule));

    public FirewallPolicy Without(FirewallRule rule) => new(Rules.Remove(rule));
}

/// <summary>What a node keeps of its firewall in its own store.</summary>
/// <param name="Enabled">False after `nanobox firewall disable`, until `enable`.</param>
/// <param name="LastGood">The last ruleset that passed commit-confirm, applied first thing at boot; null before the first.</param>
/// <param name="NodeRules">This node's own rules (`--node`).</param>
public sealed record FirewallNodeState(bool Enabled, string? LastGood, FirewallPolicy NodeRules)
{
    public const string Collection = "firewall";
    public const string Key = "node";

    public static FirewallNodeState Initial { get; } = new(true, null, FirewallPolicy.Empty);
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(FirewallPolicy))]
[JsonSerializable(typeof(FirewallNodeState))]
internal sealed partial class FirewallJsonContext : JsonSerializerContext;
