using System.Collections.Immutable;

namespace Nanobox.Node.Firewall;

/// <summary>The [firewall] section of the agent's config: who, besides peers, may reach this node.</summary>
public sealed record FirewallOptions
{
    /// <summary>Ports kept open for SSH besides those sshd is found listening on.</summary>
    public ImmutableArray<int> SshPorts { get; init; } = [];

    /// <summary>Networks SSH is open to (normalised CIDRs); empty for anywhere.</summary>
    public ImmutableArray<string> SshFrom { get; init; } = [];

    /// <summary>Networks the join port is open to; empty for anywhere (a token is needed anyway).</summary>
    public ImmutableArray<string> JoinFrom { get; init; } = [];

    /// <summary>New join connections per second, from everyone together: joins are rare, floods are not.</summary>
    public int JoinRatePerSecond { get; init; } = DefaultJoinRatePerSecond;

    public const int DefaultJoinRatePerSecond = 20;

    /// <summary>How long a dead member keeps its hole: a reboot or a short outage must not need re-punching.</summary>
    public TimeSpan DeadPeerGrace { get; init; } = DefaultDeadPeerGrace;

    public static readonly TimeSpan DefaultDeadPeerGrace = TimeSpan.FromMinutes(5);
}
