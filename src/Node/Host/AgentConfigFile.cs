using System.Text.Json.Serialization;
using Tomlyn;
using Tomlyn.Parsing;
using Tomlyn.Serialization;
using Tomlyn.Syntax;

namespace Nanobox.Node.Host;

/// <summary>
/// The shape of /etc/nanobox/nanobox.toml (documented key by key in packaging/deb/nanobox.toml and
/// docs/CONFIG.md). Unknown keys are refused so that a typo never silently falls back to a default.
/// </summary>
public sealed class AgentConfigFile
{
    /// <summary>Every section and key the file may hold; kept equal to the classes below by a unit test.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> KnownKeys = new Dictionary<string, string[]>
    {
        ["node"] = ["name", "data_dir", "advertise", "labels"],
        ["admin"] = ["socket"],
        ["log"] = ["level"],
        ["cluster"] = ["certificate_lifetime", "voter_replace_after", "secret", "bootstrap_expect", "join"],
        ["firewall"] = ["ssh_ports", "ssh_from", "join_from", "join_rate", "dead_peer_grace"],
        ["overlay"] = ["subnet", "vni", "port"],
        ["docker"] = ["endpoint"],
        ["apps"] = ["reschedule_after"],
    };

    [JsonPropertyName("node")]
    public NodeSection? Node { get; set; }

    [JsonPropertyName("admin")]
    public AdminSection? Admin { get; set; }

    [JsonPropertyName("log")]
    public LogSection? Log { get; set; }

    [JsonPropertyName("cluster")]
    public ClusterSection? Cluster { get; set; }

    [JsonPropertyName("firewall")]
    public FirewallSection? Firewall { get; set; }

    [JsonPropertyName("overlay")]
    public OverlaySection? Overlay { get; set; }

    [JsonPropertyName("docker")]
    public DockerSection? Docker { get; set; }

    [JsonPropertyName("apps")]
    public AppsSection? Apps { get; set; }

    public sealed class NodeSection
    {
        [JsonPropertyName("name")]
        public string? Name { get; set; }

        [JsonPropertyName("data_dir")]
        public string? DataDir { get; set; }

        [JsonPropertyName("advertise")]
        public string? Advertise { get; set; }

        [JsonPropertyName("labels")]
        public Dictionary<string, string>? Labels { get; set; }
    }

    public sealed class AdminSection
    {
        [JsonPropertyName("socket")]
        public string? Socket { get; set; }
    }

    public sealed class ClusterSection
    {
        [JsonPropertyName("certificate_lifetime")]
        public string? CertificateLifetime { get; set; }

        [JsonPropertyName("voter_replace_after")]
        public string? VoterReplaceAfter { get; set; }

        [JsonPropertyName("secret")]
        public string? Secret { get; set; }

        [JsonPropertyName("bootstrap_expect")]
        public int? BootstrapExpect { get; set; }

        [JsonPropertyName("join")]
        public List<string>? Join { get; set; }
    }

    public sealed class FirewallSection
    {
        [JsonPropertyName("ssh_ports")]
        public List<int>? SshPorts { get; set; }

        [JsonPropertyName("ssh_from")]
        public List<string>? SshFrom { get; set; }

        [JsonPropertyName("join_from")]
        public List<string>? JoinFrom { get; set; }

        [JsonPropertyName("join_rate")]
        public int? JoinRate { get; set; }

        [JsonPropertyName("dead_peer_grace")]
        public string? DeadPeerGrace { get; set; }
    }

    public sealed class OverlaySection
    {
        [JsonPropertyName("subnet")]
        public string? Subnet { get; set; }

        [JsonPropertyName("vni")]
        public long? Vni { get; set; }

        [JsonPropertyName("port")]
        public int? Port { get; set; }
    }

    public sealed class DockerSection
    {
        [JsonPropertyName("endpoint")]
        public string? Endpoint { get; set; }
    }

    public sealed class AppsSection
    {
        [JsonPropertyName("reschedule_after")]
        public string? RescheduleAfter { get; set; }
    }

    public sealed class LogSection
    {
        [JsonPropertyName("level")]
        public string? Level { get; set; }
    }

    /// <summary>Parses config text; <paramref name="path"/> only names the file in errors.</summary>
    /// <exception cref="ConfigException">The text is not valid TOML or has a key or value we do not accept.</exception>
    public static AgentConfigFile Parse(string text, string path)
    {
        AgentConfigFile config;
        try
        {
            config = TomlSerializer.Deserialize(text, AgentConfigTomlContext.Default.AgentConfigFile) ?? new AgentConfigFile();
        }
        catch (TomlException ex)
        {
            throw new ConfigException($"{path}: {ex.Message.Trim()}. {Fix}", ex);
        }

        RefuseUnknownKeys(SyntaxParser.Parse(text, path), path);
        return config;
    }

    private const string Fix = "Fix the file (every key is documented in docs/CONFIG.md and the packaged /etc/nanobox/nanobox.toml).";

    private static void RefuseUnknownKeys(DocumentSyntax document, string path)
    {
        foreach (var topLevel in document.KeyValues)
        {
            throw Unknown(path, topLevel, KeyText(topLevel.Key), "a key outside any [section]");
        }

        foreach (var table in document.Tables)
        {
            var section = KeyText(table.Name);
            if (!KnownKeys.TryGetValue(section, out var keys))
            {
                throw Unknown(path, table, section, $"an unknown section [{section}] (known: {string.Join(", ", KnownKeys.Keys)})");
            }

            foreach (var item in table.Items)
            {
                if (item is KeyValueSyntax keyValue && !keys.Contains(KeyText(keyValue.Key)))
                {
                    throw Unknown(path, keyValue, $"{section}.{KeyText(keyValue.Key)}", $"an unknown key (known in [{section}]: {string.Join(", ", keys)})");
                }
            }
        }
    }

    private static string KeyText(KeySyntax? key) => key?.ToString().Trim().Trim('"') ?? "";

    private static ConfigException Unknown(string path, SyntaxNode node, string key, string what) =>
        new($"{path}:{node.Span.Start.Line + 1}: '{key}' is {what}. {Fix}");
}

[TomlSerializable(typeof(AgentConfigFile))]
internal sealed partial class AgentConfigTomlContext : TomlSerializerContext;

/// <summary>A setting is wrong; the message names it and says how to fix it.</summary>
public sealed class ConfigException(string message, Exception? inner = null) : Exception(message, inner);
