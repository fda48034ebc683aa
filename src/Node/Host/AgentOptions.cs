using System.Collections.Immutable;
using System.Net;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Firewall;
using Nanobox.Node.Overlay;
using Nanobox.Node.Runtime;
using Nanobox.Node.Runtime.Docker;

namespace Nanobox.Node.Host;

/// <summary>The agent's settings after command line, environment and config file are merged (in that order of precedence).</summary>
public sealed record AgentOptions
{
    public const string DefaultConfigPath = "/etc/nanobox/nanobox.toml";
    public const string DefaultDataDir = "/var/lib/nanobox";
    public const string DefaultSocketPath = "/run/nanobox/admin.sock";

    public required string ConfigPath { get; init; }
    public required string DataDir { get; init; }
    public required string SocketPath { get; init; }

    /// <summary>The address peers use; null means "the address of the default route's interface", found at start.</summary>
    public IPAddress? Advertise { get; init; }

    /// <summary>The node's human name; defaults to the host name.</summary>
    public required string Name { get; init; }

    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>How long node certificates this node signs (as leader) are valid; renewed at 50-80 % of it.</summary>
    public TimeSpan CertificateLifetime { get; init; } = DefaultCertificateLifetime;

    public static readonly TimeSpan DefaultCertificateLifetime = TimeSpan.FromDays(30);

    /// <summary>How long a voter may be dead before the leader replaces it with a healthy member.</summary>
    public TimeSpan VoterReplaceAfter { get; init; } = DefaultVoterReplaceAfter;

    /// <summary>Rides out a reboot without churning voters.</summary>
    public static readonly TimeSpan DefaultVoterReplaceAfter = TimeSpan.FromMinutes(5);

    /// <summary>The host firewall's settings, used once the node belongs to a cluster.</summary>
    public FirewallOptions Firewall { get; init; } = new();

    /// <summary>The overlay's settings, used when this node creates a cluster.</summary>
    public OverlayOptions Overlay { get; init; } = new();

    /// <summary>The local Docker engine the agent runs containers on (and attaches the overlay's Docker network to).</summary>
    public DockerEndpoint Docker { get; init; } = DockerEndpoint.Parse(DockerEndpoint.Default);

    /// <summary>The operator's labels for this node (`[node] labels`), gossiped and matched by placement constraints.</summary>
    public ImmutableSortedDictionary<string, string> Labels { get; init; } =
        ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>How the cluster runs app components (used by this node when it leads, and by its own agent).</summary>
    public AppsOptions Apps { get; init; } = new();

    /// <summary>Self-forming: set when the config names peers and a shared secret; null otherwise.</summary>
    public ClusterFormationOptions? Formation { get; init; }
}

/// <summary>
/// Nodes started with the same secret and peer list form one cluster by themselves: once the node with
/// the lowest address among them has met <see cref="BootstrapExpect"/> nodes it creates the cluster,
/// and every other one joins it.
/// </summary>
public sealed record ClusterFormationOptions(string Secret, int BootstrapExpect, IReadOnlyList<string> Join)
{
    public const int DefaultBootstrapExpect = 3;
    public const int MinSecretLength = 16;
}
