namespace Nanobox.Node.Runtime;

/// <summary>The [apps] section of the agent's config: how the cluster runs app components.</summary>
public sealed record AppsOptions
{
    /// <summary>Long enough to ride out a reboot or a short partition, short enough that an outage is brief.</summary>
    public static readonly TimeSpan DefaultRescheduleAfter = TimeSpan.FromMinutes(1);

    /// <summary>The longest wait between restarts of a crashing instance when its spec sets no restart_backoff_max.</summary>
    public static readonly TimeSpan DefaultRestartBackoffMax = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a member may be dead or suspect before the leader (when this node leads) places its instances
    /// on other nodes. Until then they wait for it, and it takes no new ones.
    /// </summary>
    public TimeSpan RescheduleAfter { get; init; } = DefaultRescheduleAfter;
}
