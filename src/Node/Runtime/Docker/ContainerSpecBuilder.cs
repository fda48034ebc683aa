using System.Globalization;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Docker.DotNet.Models;
using Nanobox.Node.Cluster.Membership;

namespace Nanobox.Node.Runtime.Docker;

/// <summary>
/// Renders a <see cref="ContainerPlan"/> into the engine's create request with the lockdown every
/// container gets (docs/RUNTIME.md has the table). Pure: no I/O, same plan, same request. It is the
/// last line of defence, so it re-checks what the spec validation already did (root user, reserved
/// labels, host paths) and refuses a bad plan whole, naming every problem.
/// </summary>
public static partial class ContainerSpecBuilder
{
    public const long DefaultTmpSizeBytes = 64L * 1024 * 1024;

    /// <summary>The engine refuses less (its own minimum is 6 MiB).</summary>
    public const long MinMemoryBytes = 6L * 1024 * 1024;

    /// <summary>0.01 CPU, the engine's smallest quota.</summary>
    public const long MinNanoCpus = 10_000_000;

    /// <summary>The init process and the component's own.</summary>
    public const long MinPidsLimit = 2;

    public const long MinTmpSizeBytes = 1024 * 1024;

    /// <summary>The engine's json-file driver, capped: `docker logs` still works, a chatty instance cannot fill the disk.</summary>
    public const string LogMaxSize = "10m";

    public const string LogMaxFiles = "3";

    /// <summary>Host trees no container may see: the system itself and the engine's own state (and its socket).</summary>
    private static readonly string[] ProtectedHostPaths =
    [
        "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root", "/run", "/sbin",
        "/sys", "/usr", "/var/lib/containerd", "/var/lib/docker", "/var/run",
    ];

    /// <summary>Container paths the runtime owns: the kernel's views and the /tmp tmpfs.</summary>
    private static readonly string[] ReservedContainerPaths = ["/dev", "/proc", "/sys", "/tmp"];

    private static readonly HashSet<string> Capabilities = new(StringComparer.Ordinal)
    {
        "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE", "CHOWN",
        "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE",
        "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE", "NET_BROADCAST",
        "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT",
        "SYS_MODULE", "SYS_NICE", "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME",
        "SYS_TTY_CONFIG", "SYSLOG", "WAKE_ALARM",
    };

    /// <summary>The engine's rule for container and network names.</summary>
    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")]
    private static partial Regex DockerName();

    [GeneratedRegex("^(sha256:[0-9a-f]{64}|[^@\\s]+@sha256:[0-9a-f]{64})$")]
    private static partial Regex PinnedImage();

    [GeneratedRegex("^([0-9]+):([0-9]+)$")]
    private static partial Regex NumericUser();

    /// <summary>Container name: <c>nanobox.&lt;app&gt;.&lt;component&gt;.&lt;instance&gt;</c>.</summary>
    public static string ContainerName(string app, string component, int instance) =>
        $"{ContainerLabels.NamePrefix}{app}.{component}.{instance.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// Host name: <c>&lt;component&gt;-&lt;instance&gt;</c> as one DNS label (dots and underscores become
    /// dashes, so <c>web.main</c> instance 0 is <c>web-main-0</c>).
    /// </summary>
    public static string HostName(string component, int instance) =>
        $"{component.Replace('.', '-').Replace('_', '-').ToLowerInvariant()}-{instance.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>MAC in the engine's notation, <c>02:42:0a:00:00:02</c>.</summary>
    public static string FormatMac(PhysicalAddress mac) =>
        string.Join(':', mac.GetAddressBytes().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));

    /// <exception cref="ContainerPlanException">The plan breaks the lockdown or is malformed; nothing may be created from it.</exception>
    public static CreateContainerParameters Build(ContainerPlan plan)
    {
        var problems = new List<string>();
        CheckIdentity(plan, problems);
        CheckImageAndProcess(plan, problems);
        CheckLimits(plan, problems);
        var capabilities = NormalizeCapabilities(plan.CapAdd, problems);
        var mounts = BuildMounts(plan, problems);
        CheckLabels(plan.Labels, problems);
        CheckPorts(plan.Ports, problems);
        CheckNetwork(plan.Network, problems);
        if (problems.Count > 0)
        {
            throw new ContainerPlanException(ContainerName(plan.App, plan.Component, plan.Instance), problems);
        }

        return new CreateContainerParameters
        {
            Name = ContainerName(plan.App, plan.Component, plan.Instance),
            Hostname = HostName(plan.Component, plan.Instance),
            User = plan.User,
            Image = plan.Image,
            // Null keeps the image's CMD (the model says non-null; the API takes null).
            Cmd = plan.Command?.ToList()!,
            Env = plan.Environment.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}").ToList(),
            Labels = Labels(plan),
            ExposedPorts = plan.Ports.Count == 0
                ? null
                : plan.Ports.ToDictionary(p => $"{p.Port.ToString(CultureInfo.InvariantCulture)}/{p.Protocol}", _ => default(EmptyStruct)),
            HostConfig = new HostConfig
            {
                Privileged = false,
                ReadonlyRootfs = true,
                Tmpfs = new Dictionary<string, string>
                {
                    ["/tmp"] = $"rw,noexec,nosuid,nodev,size={plan.TmpSizeBytes.ToString(CultureInfo.InvariantCulture)},mode=1777",
                },
                ShmSize = plan.TmpSizeBytes,
                CapDrop = ["ALL"],
                CapAdd = capabilities,
                Sysctls = Sysctls(capabilities),
                // The engine's default seccomp profile applies because nothing here asks for another.
                SecurityOpt = ["no-new-privileges:true"],
                Memory = plan.MemoryBytes,
                MemorySwap = plan.MemoryBytes,
                NanoCPUs = plan.NanoCpus,
                PidsLimit = plan.PidsLimit,
                NetworkMode = plan.Network?.Network ?? "none",
                PidMode = "",
                IpcMode = "private",
                UTSMode = "",
                UsernsMode = "",
                CgroupnsMode = "private",
                Mounts = mounts,
                PublishAllPorts = false,
                RestartPolicy = new RestartPolicy { Name = RestartPolicyKind.No },
                Init = true,
                AutoRemove = false,
                LogConfig = new LogConfig
                {
                    Type = "json-file",
                    Config = new Dictionary<string, string> { ["max-size"] = LogMaxSize, ["max-file"] = LogMaxFiles },
                },
            },
            NetworkingConfig = plan.Network is { } network
                ? new NetworkingConfig
                {
                    EndpointsConfig = new Dictionary<string, EndpointSettings>
                    {
                        [network.Network] = new EndpointSettings
                        {
                            IPAMConfig = new EndpointIPAMConfig { IPv4Address = network.IPv4Address.ToString() },
                            MacAddress = FormatMac(network.MacAddress),
                        },
                    },
                }
                : null,
        };
    }

    /// <summary>
    /// A non-root process gets no effective capability from cap_add (the engine sets no ambient ones), so
    /// NET_BIND_SERVICE is granted the way that works: every port is unprivileged in the container's own
    /// network namespace (the sysctl is per namespace; the host's stays as it is).
    /// </summary>
    private static Dictionary<string, string>? Sysctls(List<string> capabilities) =>
        capabilities.Contains(BindLowPorts)
            ? new Dictionary<string, string> { [UnprivilegedPortStart] = "0" }
            : null;

    public const string BindLowPorts = "NET_BIND_SERVICE";

    public const string UnprivilegedPortStart = "net.ipv4.ip_unprivileged_port_start";

    private static Dictionary<string, string> Labels(ContainerPlan plan)
    {
        var labels = new Dictionary<string, string>(plan.Labels, StringComparer.Ordinal)
        {
            [ContainerLabels.Managed] = "true",
            [ContainerLabels.Node] = plan.NodeId,
            [ContainerLabels.App] = plan.App,
            [ContainerLabels.Component] = plan.Component,
            [ContainerLabels.Instance] = plan.Instance.ToString(CultureInfo.InvariantCulture),
            [ContainerLabels.Fingerprint] = plan.Fingerprint,
        };
        return labels;
    }

    private static void CheckIdentity(ContainerPlan plan, List<string> problems)
    {
        if (plan.App.Length is 0 or > 63 || !DockerName().IsMatch(plan.App))
        {
            problems.Add($"app '{plan.App}' is not a valid name: use 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit");
        }

        if (plan.Component.Length is 0 or > 60 || !DockerName().IsMatch(plan.Component))
        {
            problems.Add($"component '{plan.Component}' is not a valid id: use <kind>.<name> with 1-60 letters, digits, '_', '.' or '-', starting with a letter or digit");
        }

        if (plan.Instance is < 0 or > 999)
        {
            problems.Add($"instance {plan.Instance} is out of range: give 0-999");
        }

        if (!NodeId.IsValid(plan.NodeId))
        {
            problems.Add($"node id '{plan.NodeId}' is not a node id (26 lowercase base32 characters)");
        }

        if (string.IsNullOrWhiteSpace(plan.Fingerprint) || plan.Fingerprint.Length > 256 || plan.Fingerprint.Any(char.IsControl))
        {
            problems.Add("fingerprint must be 1-256 printable characters identifying the spec");
        }
    }

    private static void CheckImageAndProcess(ContainerPlan plan, List<string> problems)
    {
        if (!PinnedImage().IsMatch(plan.Image))
        {
            problems.Add($"image '{plan.Image}' is not pinned: give an image id (sha256:<64 hex>) or repository@sha256:<64 hex>, resolved at deploy");
        }

        var user = NumericUser().Match(plan.User);
        if (!user.Success || !uint.TryParse(user.Groups[1].Value, CultureInfo.InvariantCulture, out var uid) || !uint.TryParse(user.Groups[2].Value, CultureInfo.InvariantCulture, out var gid))
        {
            problems.Add($"user '{plan.User}' is not a numeric uid:gid (e.g. 1000:1000): names could resolve to root inside the image");
        }
        else if (uid == 0 || gid == 0)
        {
            problems.Add($"user '{plan.User}' is root: containers never run as uid 0 or gid 0; give the image's unprivileged uid:gid");
        }

        if (plan.Command is { } command && (command.Count == 0 || command.Any(a => a.Contains('\0'))))
        {
            problems.Add("command must be null (keep the image's) or a non-empty list of arguments without NUL characters");
        }

        foreach (var (key, value) in plan.Environment)
        {
            if (key.Length == 0 || key.Contains('=') || key.Contains('\0') || value.Contains('\0'))
            {
                problems.Add($"environment variable '{key}' is not valid: names are non-empty without '=' and neither name nor value holds NUL");
            }
        }
    }

    private static void CheckLimits(ContainerPlan plan, List<string> problems)
    {
        if (plan.MemoryBytes < MinMemoryBytes)
        {
            problems.Add($"memory {plan.MemoryBytes} bytes is below the minimum {MinMemoryBytes}: every container has a memory limit");
        }

        if (plan.NanoCpus < MinNanoCpus)
        {
            problems.Add($"cpu {plan.NanoCpus} nano-CPUs is below the minimum {MinNanoCpus} (0.01 CPU): every container has a CPU limit");
        }

        if (plan.PidsLimit < MinPidsLimit)
        {
            problems.Add($"pids limit {plan.PidsLimit} is below {MinPidsLimit}: every container has one, room for init and the process");
        }

        if (plan.TmpSizeBytes < MinTmpSizeBytes || plan.TmpSizeBytes > plan.MemoryBytes)
        {
            problems.Add($"/tmp size {plan.TmpSizeBytes} bytes must be between {MinTmpSizeBytes} and the memory limit (tmpfs pages count against it)");
        }
    }

    private static List<string> NormalizeCapabilities(IReadOnlyList<string> requested, List<string> problems)
    {
        var result = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in requested)
        {
            var cap = name.Trim().ToUpperInvariant();
            cap = cap.StartsWith("CAP_", StringComparison.Ordinal) ? cap[4..] : cap;
            if (cap == "ALL")
            {
                problems.Add("cap_add ALL is refused: name each capability the component needs");
            }
            else if (!Capabilities.Contains(cap))
            {
                problems.Add($"cap_add '{name}' is not a Linux capability (e.g. NET_BIND_SERVICE)");
            }
            else
            {
                result.Add(cap);
            }
        }

        return [.. result];
    }

    private static List<Mount> BuildMounts(ContainerPlan plan, List<string> problems)
    {
        var mounts = new List<Mount>();
        var targets = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (kind, dirs) in new[] { ("writable dir", plan.WritableDirectories), ("network dir", plan.NetworkDirectories) })
        {
            foreach (var (target, source) in dirs.OrderBy(d => d.Key, StringComparer.Ordinal))
            {
                var before = problems.Count;
                if (!IsNormalAbsolute(target) || target == "/" || ReservedContainerPaths.Any(r => IsSameOrUnder(target, r)))
                {
                    problems.Add($"{kind} '{target}' is not allowed: give a normalized absolute path in the container, not /, /tmp, /proc, /sys or /dev");
                }
                else if (!targets.Add(target))
                {
                    problems.Add($"{kind} '{target}' is mounted twice: each container path once, as a writable or a network dir");
                }

                if (!IsNormalAbsolute(source) || source == "/" || ProtectedHostPaths.Any(p => IsSameOrUnder(source, p) || IsSameOrUnder(p, source)))
                {
                    problems.Add($"{kind} '{target}' maps to host path '{source}', which is not allowed: only directories the agent prepared, never system trees or the engine's state and socket");
                }

                if (problems.Count == before)
                {
                    mounts.Add(new Mount { Type = "bind", Source = source, Target = target, ReadOnly = false, BindOptions = new BindOptions { Propagation = "rprivate" } });
                }
            }
        }

        return mounts;
    }

    private static void CheckLabels(IReadOnlyDictionary<string, string> labels, List<string> problems)
    {
        foreach (var key in labels.Keys)
        {
            if (key.Length == 0 || ContainerLabels.IsReserved(key))
            {
                problems.Add($"label '{key}' is not allowed: labels are non-empty and {ContainerLabels.Prefix}* is reserved for the agent");
            }
        }
    }

    private static void CheckPorts(IReadOnlyList<ContainerPort> ports, List<string> problems)
    {
        foreach (var port in ports)
        {
            if (port.Port is < 1 or > 65535 || port.Protocol is not ("tcp" or "udp" or "sctp"))
            {
                problems.Add($"port {port.Port}/{port.Protocol} is not valid: give 1-65535 and tcp, udp or sctp");
            }
        }
    }

    private static void CheckNetwork(NetworkAttachment? network, List<string> problems)
    {
        if (network is null)
        {
            return;
        }

        if (!DockerName().IsMatch(network.Network) || network.Network is "host" or "none" or "default" or "bridge")
        {
            problems.Add($"network '{network.Network}' is not allowed: attach to the node's own bridge network by name, never host, none or the default bridge");
        }

        var ip = network.IPv4Address;
        if (ip.AddressFamily != AddressFamily.InterNetwork || System.Net.IPAddress.IsLoopback(ip) || ip.Equals(System.Net.IPAddress.Any)
            || ip.Equals(System.Net.IPAddress.Broadcast) || ip.GetAddressBytes()[0] >= 224)
        {
            problems.Add($"network address {ip} is not a unicast IPv4 address from the node's block");
        }

        var mac = network.MacAddress.GetAddressBytes();
        if (mac.Length != 6 || (mac[0] & 1) != 0 || mac.All(b => b == 0))
        {
            problems.Add($"MAC address {FormatMac(network.MacAddress)} is not a unicast Ethernet address");
        }
    }

    private static bool IsNormalAbsolute(string path) =>
        path.StartsWith('/') && !path.Contains('\0') && !path.Contains(',') && !path.Contains(':')
        && (path == "/" || (!path.EndsWith('/') && path[1..].Split('/').All(s => s.Length > 0 && s != "." && s != "..")));

    private static bool IsSameOrUnder(string path, string root) =>
        path == root || path.StartsWith(root + "/", StringComparison.Ordinal) || root == "/";
}
