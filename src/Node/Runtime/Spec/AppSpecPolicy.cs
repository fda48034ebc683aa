using System.Collections.Immutable;

namespace Nanobox.Node.Runtime.Spec;

/// <summary>The cluster's rules that a spec must obey beyond its own syntax.</summary>
public sealed record AppSpecPolicy
{
    public static AppSpecPolicy Default { get; } = new();

    /// <summary>Largest spec file accepted, in UTF-8 bytes: far above any real app, far below a memory problem.</summary>
    public int MaxBytes { get; init; } = 256 * 1024;

    /// <summary>
    /// The lowest uid and gid a container may run as. 1000 keeps containers off the ids of host
    /// system accounts and root; a cluster that must run an image needing a low id lowers it, knowingly.
    /// </summary>
    public int MinimumUid { get; init; } = 1000;

    /// <summary>
    /// Capabilities a spec may not add back even though it names them explicitly: each one lets a
    /// process reach past its container (load modules, mount, trace other processes, change the host's
    /// clock or network, read any file, load BPF programs, bypass LSMs).
    /// </summary>
    public ImmutableSortedSet<string> DeniedCapabilities { get; init; } =
    [
        "AUDIT_CONTROL", "BPF", "CHECKPOINT_RESTORE", "DAC_READ_SEARCH", "LINUX_IMMUTABLE", "MAC_ADMIN",
        "MAC_OVERRIDE", "NET_ADMIN", "PERFMON", "SYS_ADMIN", "SYS_BOOT", "SYS_MODULE", "SYS_PTRACE",
        "SYS_RAWIO", "SYS_TIME", "SYSLOG",
    ];

    /// <exception cref="ArgumentException">A setting is out of range or names an unknown capability.</exception>
    public void Validate()
    {
        if (MaxBytes is < 1024 or > 16 * 1024 * 1024)
            throw new ArgumentException($"app spec policy: MaxBytes {MaxBytes} is out of range; give 1 KiB to 16 MiB");
        if (MinimumUid < 0)
            throw new ArgumentException($"app spec policy: MinimumUid {MinimumUid} is negative; give 0 (root allowed) or more");
        var unknown = DeniedCapabilities.Where(static c => !Capabilities.Known.Contains(c)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"app spec policy: unknown capabilities {string.Join(", ", unknown)}; give names without CAP_, e.g. SYS_ADMIN");
    }
}

/// <summary>Linux capability names (capabilities(7), as of Linux 6.x), without the CAP_ prefix.</summary>
internal static class Capabilities
{
    public const string BindLowPorts = "NET_BIND_SERVICE";

    /// <summary>
    /// What a spec may add back. Docker puts an added capability only in a non-root process's bounding set
    /// (no ambient capabilities), so none takes effect; binding ports below 1024 is granted another way,
    /// through the namespaced sysctl net.ipv4.ip_unprivileged_port_start of the container's own network.
    /// </summary>
    public static readonly ImmutableSortedSet<string> Effective = [BindLowPorts];

    public static readonly ImmutableSortedSet<string> Known =
    [
        "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE", "CHOWN",
        "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE",
        "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE",
        "NET_BROADCAST", "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_ADMIN",
        "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "SYSLOG", "WAKE_ALARM",
    ];
}
