using System.Text.Json.Serialization;
using Tomlyn;
using Tomlyn.Serialization;

namespace Nanobox.Node.Host;

/// <summary>
/// The shape of /etc/nanobox/nanobox.toml (documented key by key in packaging/deb/nanobox.toml and
/// docs/CONFIG.md). Unknown keys are refused so that a typo never silently falls back to a default.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class AgentConfigFile
{
    [JsonPropertyName("node")]
    public NodeSection? Node { get; set; }

    [JsonPropertyName("admin")]
    public AdminSection? Admin { get; set; }

    [JsonPropertyName("log")]
    public LogSection? Log { get; set; }

    [JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
    public sealed class NodeSection
    {
        [JsonPropertyName("name")]
        public string? Name { get; set; }

        [JsonPropertyName("data_dir")]
        public string? DataDir { get; set; }

        [JsonPropertyName("advertise")]
        public string? Advertise { get; set; }
    }

    [JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
    public sealed class AdminSection
    {
        [JsonPropertyName("socket")]
        public string? Socket { get; set; }
    }

    [JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
    public sealed class LogSection
    {
        [JsonPropertyName("level")]
        public string? Level { get; set; }
    }

    /// <summary>Parses config text; <paramref name="path"/> only names the file in errors.</summary>
    /// <exception cref="ConfigException">The text is not valid TOML or has a key or value we do not accept.</exception>
    public static AgentConfigFile Parse(string text, string path)
    {
        try
        {
            return TomlSerializer.Deserialize(text, AgentConfigTomlContext.Default.AgentConfigFile) ?? new AgentConfigFile();
        }
        catch (TomlException ex)
        {
            throw new ConfigException($"{path}: {ex.Message.Trim()}. Fix the file (every key is documented in /etc/nanobox/nanobox.toml).", ex);
        }
    }
}

[TomlSerializable(typeof(AgentConfigFile))]
internal sealed partial class AgentConfigTomlContext : TomlSerializerContext;

/// <summary>A setting is wrong; the message names it and says how to fix it.</summary>
public sealed class ConfigException(string message, Exception? inner = null) : Exception(message, inner);
