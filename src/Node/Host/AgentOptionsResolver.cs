using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Firewall;
using Nanobox.Node.Overlay;
using Nanobox.Node.Runtime;
using Nanobox.Node.Runtime.Placement;

namespace Nanobox.Node.Host;

/// <summary>Settings as given on the command line; null where the flag was not given.</summary>
public sealed record AgentArguments(
    string? Config = null,
    string? DataDir = null,
    string? Socket = null,
    string? Advertise = null,
    string? Name = null,
    string? LogLevel = null,
    string? Docker = null);

/// <summary>
/// Merges command line, environment and config file into validated <see cref="AgentOptions"/>.
/// Pure: the environment and the file system come in as delegates so every rule is unit-tested.
/// </summary>
public static class AgentOptionsResolver
{
    public const string ConfigVariable = "NANOBOX_CONFIG";
    public const string DataDirVariable = "NANOBOX_DATA_DIR";
    public const string SocketVariable = "NANOBOX_SOCKET";
    public const string AdvertiseVariable = "NANOBOX_ADVERTISE";
    public const string NameVariable = "NANOBOX_NAME";
    public const string LogLevelVariable = "NANOBOX_LOG_LEVEL";
    public const string CertificateLifetimeVariable = "NANOBOX_CERTIFICATE_LIFETIME";
    public const string ClusterSecretVariable = "NANOBOX_CLUSTER_SECRET";
    public const string VoterReplaceAfterVariable = "NANOBOX_VOTER_REPLACE_AFTER";
    public const string BootstrapExpectVariable = "NANOBOX_BOOTSTRAP_EXPECT";
    public const string ClusterJoinVariable = "NANOBOX_CLUSTER_JOIN";
    public const string DeadPeerGraceVariable = "NANOBOX_DEAD_PEER_GRACE";
    public const string DockerVariable = "NANOBOX_DOCKER";
    public const string RescheduleAfterVariable = "NANOBOX_RESCHEDULE_AFTER";

    /// <summary>A second is the shortest gossip can tell dead from slow; a week covers any planned outage.</summary>
    private static readonly TimeSpan MinRescheduleAfter = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRescheduleAfter = TimeSpan.FromDays(7);

    /// <summary>Shorter would renew too often to be sane; longer than the CA would outlive it.</summary>
    private static readonly TimeSpan MinCertificateLifetime = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan MaxCertificateLifetime = TimeSpan.FromDays(3650);

    /// <summary>Shorter would churn voters on a blip; the planner's own floor.</summary>
    private static readonly TimeSpan MinVoterReplaceAfter = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan MaxVoterReplaceAfter = TimeSpan.FromDays(30);

    /// <summary>sun_path is 108 bytes including the terminating NUL.</summary>
    private const int MaxSocketPathBytes = 107;

    /// <param name="readFile">Returns the file's text, or null when it does not exist.</param>
    /// <exception cref="ConfigException">A setting is missing its file, malformed or out of range.</exception>
    public static AgentOptions Resolve(AgentArguments args, Func<string, string?> environment, Func<string, string?> readFile, string hostName)
    {
        var config = LoadConfigFile(args.Config, environment, readFile, out var configPath);

        var dataDir = Pick(args.DataDir, environment(DataDirVariable), config.Node?.DataDir) ?? AgentOptions.DefaultDataDir;
        var socket = Pick(args.Socket, environment(SocketVariable), config.Admin?.Socket) ?? AgentOptions.DefaultSocketPath;
        var advertise = Pick(args.Advertise, environment(AdvertiseVariable), config.Node?.Advertise);
        var name = Pick(args.Name, environment(NameVariable), config.Node?.Name) ?? hostName;
        var logLevel = Pick(args.LogLevel, environment(LogLevelVariable), config.Log?.Level);
        var lifetime = Pick(environment(CertificateLifetimeVariable), config.Cluster?.CertificateLifetime);
        var replaceAfter = Pick(environment(VoterReplaceAfterVariable), config.Cluster?.VoterReplaceAfter);
        var rescheduleAfter = Pick(environment(RescheduleAfterVariable), config.Apps?.RescheduleAfter);

        return new AgentOptions
        {
            ConfigPath = configPath,
            DataDir = ValidateAbsolutePath(dataDir, "data dir", "--data-dir", DataDirVariable, "node.data_dir"),
            SocketPath = ValidateSocketPath(socket),
            Advertise = advertise is null ? null : ParseAdvertise(advertise),
            Name = ValidateName(name),
            LogLevel = logLevel is null ? LogLevel.Information : ParseLogLevel(logLevel),
            CertificateLifetime = lifetime is null
                ? AgentOptions.DefaultCertificateLifetime
                : ParseDuration(lifetime, MinCertificateLifetime, MaxCertificateLifetime, "certificate lifetime", "cluster.certificate_lifetime", CertificateLifetimeVariable),
            VoterReplaceAfter = replaceAfter is null
                ? AgentOptions.DefaultVoterReplaceAfter
                : ParseDuration(replaceAfter, MinVoterReplaceAfter, MaxVoterReplaceAfter, "voter replacement delay", "cluster.voter_replace_after", VoterReplaceAfterVariable),
            Labels = ResolveLabels(config.Node?.Labels),
            Apps = new AppsOptions
            {
                RescheduleAfter = rescheduleAfter is null
                    ? AppsOptions.DefaultRescheduleAfter
                    : ParseDuration(rescheduleAfter, MinRescheduleAfter, MaxRescheduleAfter, "rescheduling delay", "apps.reschedule_after", RescheduleAfterVariable),
            },
            Formation = ResolveFormation(environment, config.Cluster),
            Firewall = ResolveFirewall(environment, config.Firewall),
            Overlay = ResolveOverlay(config.Overlay),
            Docker = Runtime.Docker.DockerEndpoint.Parse(Pick(args.Docker, environment(DockerVariable), config.Docker?.Endpoint) ?? Runtime.Docker.DockerEndpoint.Default),
        };
    }

    /// <summary>The admin socket a CLI command talks to: --socket, NANOBOX_SOCKET, the config file's admin.socket, the default.</summary>
    public static string ResolveSocket(string? socketArgument, Func<string, string?> environment, Func<string, string?> readFile)
    {
        var fromArgs = Pick(socketArgument, environment(SocketVariable));
        if (fromArgs is not null)
        {
            return fromArgs;
        }

        try
        {
            return LoadConfigFile(null, environment, readFile, out _).Admin?.Socket ?? AgentOptions.DefaultSocketPath;
        }
        catch (Exception ex) when (ex is ConfigException or UnauthorizedAccessException)
        {
            // An operator without read access to the agent's config still reaches the default socket.
            return AgentOptions.DefaultSocketPath;
        }
    }

    private static AgentConfigFile LoadConfigFile(string? argument, Func<string, string?> environment, Func<string, string?> readFile, out string path)
    {
        var explicitPath = Pick(argument, environment(ConfigVariable));
        path = explicitPath ?? AgentOptions.DefaultConfigPath;
        var text = readFile(path);
        if (text is null)
        {
            if (explicitPath is not null)
            {
                throw new ConfigException($"The config file {path} does not exist. Create it (see docs/CONFIG.md) or drop --config / {ConfigVariable} to use {AgentOptions.DefaultConfigPath}.");
            }

            return new AgentConfigFile();
        }

        return AgentConfigFile.Parse(text, path);
    }

    private static string? Pick(params string?[] candidates) => candidates.FirstOrDefault(value => !string.IsNullOrWhiteSpace(value))?.Trim();

    private static string ValidateAbsolutePath(string path, string what, string flag, string variable, string key) =>
        Path.IsPathRooted(path)
            ? Path.GetFullPath(path)
            : throw new ConfigException($"The {what} '{path}' is not an absolute path. Give one with {flag}, {variable} or {key} in the config file.");

    private static string ValidateSocketPath(string path)
    {
        var full = ValidateAbsolutePath(path, "admin socket", "--socket", SocketVariable, "admin.socket");
        return Encoding.UTF8.GetByteCount(full) <= MaxSocketPathBytes
            ? full
            : throw new ConfigException($"The admin socket path '{full}' is longer than the {MaxSocketPathBytes} bytes a Unix socket allows. Choose a shorter --socket.");
    }

    private static IPAddress ParseAdvertise(string value)
    {
        if (!IPAddress.TryParse(value, out var address) || address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ConfigException($"The advertise address '{value}' is not an IP address. Give the address peers reach this node on, e.g. --advertise 192.0.2.10.");
        }

        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.IsIPv6Multicast || IsIPv4Multicast(address))
        {
            throw new ConfigException($"The advertise address '{value}' cannot be reached as a unicast address. Give this host's own address.");
        }

        return address;
    }

    private static bool IsIPv4Multicast(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetwork && (address.GetAddressBytes()[0] & 0xF0) == 0xE0;

    private static string ValidateName(string name)
    {
        var valid = name.Length is > 0 and <= 63 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
        return valid
            ? name
            : throw new ConfigException($"The node name '{name}' is not valid: use 1-63 letters, digits, '-', '_' or '.' (set it with --name, {NameVariable} or node.name).");
    }

    private static ImmutableSortedDictionary<string, string> ResolveLabels(Dictionary<string, string>? labels)
    {
        var resolved = (labels ?? []).ToImmutableSortedDictionary(StringComparer.Ordinal);
        return NodeLabels.Check(resolved) is { } problem
            ? throw new ConfigException($"node.labels: {problem} (e.g. labels = {{ zone = \"a\" }}).")
            : resolved;
    }

    private static ClusterFormationOptions? ResolveFormation(Func<string, string?> environment, AgentConfigFile.ClusterSection? config)
    {
        var join = Pick(environment(ClusterJoinVariable))?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            ?? config?.Join?.Where(a => !string.IsNullOrWhiteSpace(a)).Select(a => a.Trim()).ToArray()
            ?? [];
        var secret = Pick(environment(ClusterSecretVariable), config?.Secret);
        var expectText = Pick(environment(BootstrapExpectVariable));
        int? expect = expectText is null ? config?.BootstrapExpect : int.TryParse(expectText, out var parsed) ? parsed : -1;
        if (join.Length == 0)
        {
            // bootstrap_expect alone (the packaged default, uncommented) means nothing without peers.
            return secret is null
                ? null
                : throw new ConfigException($"cluster.secret needs cluster.join: list the addresses of the nodes that form the cluster ({ClusterJoinVariable}).");
        }

        if (secret is null || secret.Length < ClusterFormationOptions.MinSecretLength)
        {
            throw new ConfigException($"cluster.join needs cluster.secret, the same on every node and at least {ClusterFormationOptions.MinSecretLength} characters ({ClusterSecretVariable}); generate one with `openssl rand -hex 32`.");
        }

        if (expect is < 1)
        {
            throw new ConfigException($"cluster.bootstrap_expect must be a whole number of nodes, at least 1 ({BootstrapExpectVariable}).");
        }

        return new ClusterFormationOptions(secret, expect ?? ClusterFormationOptions.DefaultBootstrapExpect, join);
    }

    /// <summary>0 keeps a dead member's hole only until gossip declares it dead; a week covers any planned outage.</summary>
    private static readonly TimeSpan MaxDeadPeerGrace = TimeSpan.FromDays(7);

    private static FirewallOptions ResolveFirewall(Func<string, string?> environment, AgentConfigFile.FirewallSection? config)
    {
        var grace = Pick(environment(DeadPeerGraceVariable), config?.DeadPeerGrace);
        var sshPorts = config?.SshPorts ?? [];
        foreach (var bad in sshPorts.Where(p => p is < 1 or > ushort.MaxValue))
        {
            throw new ConfigException($"firewall.ssh_ports holds {bad}, which is not a TCP port: list ports between 1 and 65535, e.g. ssh_ports = [22, 2222].");
        }

        var joinRate = config?.JoinRate ?? FirewallOptions.DefaultJoinRatePerSecond;
        if (joinRate is < 1 or > 10_000)
        {
            throw new ConfigException($"firewall.join_rate is {joinRate}: give new join connections per second between 1 and 10000 (default {FirewallOptions.DefaultJoinRatePerSecond}).");
        }

        return new FirewallOptions
        {
            SshPorts = [.. sshPorts.Distinct().Order()],
            SshFrom = Networks(config?.SshFrom, "firewall.ssh_from"),
            JoinFrom = Networks(config?.JoinFrom, "firewall.join_from"),
            JoinRatePerSecond = joinRate,
            DeadPeerGrace = grace is null
                ? FirewallOptions.DefaultDeadPeerGrace
                : ParseDuration(grace, TimeSpan.Zero, MaxDeadPeerGrace, "dead peer grace time", "firewall.dead_peer_grace", DeadPeerGraceVariable),
        };
    }

    private static OverlayOptions ResolveOverlay(AgentConfigFile.OverlaySection? config)
    {
        var options = new OverlayOptions
        {
            Subnet = config?.Subnet ?? OverlayNetwork.DefaultSubnet,
            Vni = config?.Vni is { } vni ? (uint)Math.Clamp(vni, 0, uint.MaxValue) : OverlayNetwork.DefaultVni,
            Port = config?.Port ?? OverlayNetwork.DefaultPort,
        };
        try
        {
            options.ToNetwork();
            return options;
        }
        catch (ArgumentException ex)
        {
            throw new ConfigException($"[overlay]: {ex.Message} (these settings are used when this node creates a cluster).", ex);
        }
    }

    private static ImmutableArray<string> Networks(List<string>? networks, string key)
    {
        try
        {
            return [.. (networks ?? []).Select(FirewallRule.NormaliseNetwork).Distinct()];
        }
        catch (FormatException ex)
        {
            throw new ConfigException($"{key}: {ex.Message}", ex);
        }
    }

    /// <summary>A number and a unit: s, m, h or d (e.g. "30d", "12h").</summary>
    private static TimeSpan ParseDuration(string value, TimeSpan min, TimeSpan max, string what, string key, string variable)
    {
        var unit = value.Length > 1 ? value[^1] : ' ';
        var valid = long.TryParse(value[..^1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var amount);
        TimeSpan? duration = valid ? unit switch
        {
            's' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMinutes(amount),
            'h' => TimeSpan.FromHours(amount),
            'd' => TimeSpan.FromDays(amount),
            _ => null,
        } : null;
        return duration is { } parsed && parsed >= min && parsed <= max
            ? parsed
            : throw new ConfigException($"The {what} '{value}' is not a duration between {Format(min)} and {Format(max)}: write a number and a unit (s, m, h, d), e.g. \"30d\" ({key} or {variable}).");
    }

    private static string Format(TimeSpan span) =>
        span.TotalDays >= 1 ? $"{span.TotalDays:0}d" : span.TotalHours >= 1 ? $"{span.TotalHours:0}h" : span.TotalMinutes >= 1 ? $"{span.TotalMinutes:0}m" : $"{span.TotalSeconds:0}s";

    private static LogLevel ParseLogLevel(string value) => value.ToLowerInvariant() switch
    {
        "trace" => LogLevel.Trace,
        "debug" => LogLevel.Debug,
        "info" or "information" => LogLevel.Information,
        "warn" or "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        _ => throw new ConfigException($"The log level '{value}' is not one of trace, debug, info, warning, error."),
    };
}
