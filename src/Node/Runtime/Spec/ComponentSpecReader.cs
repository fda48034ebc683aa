using System.Collections.Immutable;
using System.Globalization;

namespace Nanobox.Node.Runtime.Spec;

/// <summary>Reads one component's settings (<c>web.main: {...}</c>), filling in defaults and reporting every error.</summary>
internal sealed class ComponentSpecReader(SpecValueReader reader, AppSpecPolicy policy)
{
    public const int MaxReplicas = 64;
    public const int MaxListItems = 64;
    public const int MaxCommandItems = 256;
    public const int MaxDirs = 32;
    public const int MinPids = 16;
    public const int MaxPids = 65536;
    public const string ReservedLabelPrefix = "nanobox.";
    public const string Shell = "/bin/sh";

    public static readonly IReadOnlyList<string> Keys =
    [
        "image", "command", "env", "ports", "replicas", "labels", "constraints", "resources", "writable_dirs",
        "network_dirs", "user", "cap_add", "restart_backoff_max",
    ];

    public static readonly IReadOnlyList<string> ResourceKeys = ["memory", "cpus", "pids"];

    public ComponentSpec? Read(ComponentKind kind, string name, SpecEntry component)
    {
        var path = component.Key;
        if (reader.Map(component.Value, path, "the component's settings, at least image: IMAGE") is not { } map)
            return null;
        var entries = reader.KnownEntries(map, path, Keys);

        bool Has(string key, out SpecNode node, out string keyPath)
        {
            var found = entries.TryGetValue(key, out var entry);
            node = found ? entry!.Value : map;
            keyPath = SpecPath.Join(path, key);
            return found;
        }

        string? image = null;
        if (Has("image", out var imageNode, out var imagePath))
            image = ReadImage(imageNode, imagePath);
        else
            reader.Refuse(SpecPath.Join(path, "image"), component.KeyPosition, "is missing", "add image: IMAGE, e.g. image: busybox:1.36");

        var writable = Has("writable_dirs", out var writableNode, out var writablePath) ? ReadDirs(writableNode, writablePath) : [];
        var network = Has("network_dirs", out var networkNode, out var networkPath) ? ReadDirs(networkNode, networkPath) : [];
        CheckDirsApart(writable, writableNode, network, networkNode, path);

        var spec = new ComponentSpec(
            kind,
            name,
            image ?? "",
            Has("command", out var command, out var commandPath) ? ReadCommand(command, commandPath) : [],
            Has("env", out var env, out var envPath) ? reader.StringMap(env, envPath, "a mapping of variables, e.g. { GREETING: hello }", CheckEnvKey) : ImmutableSortedDictionary<string, string>.Empty,
            Has("ports", out var ports, out var portsPath)
                ? reader.Items(ports, portsPath, "a list of ports, e.g. [8080/tcp, 53/udp]", MaxListItems, unique: true, ReadPort).Sort()
                : [],
            Has("replicas", out var replicas, out var replicasPath) ? reader.Integer(replicas, replicasPath, 1, MaxReplicas) ?? 1 : 1,
            Has("labels", out var labels, out var labelsPath) ? reader.StringMap(labels, labelsPath, "a mapping of labels, e.g. { tier: front }", CheckLabelKey) : ImmutableSortedDictionary<string, string>.Empty,
            Has("constraints", out var constraints, out var constraintsPath)
                ? reader.Items(constraints, constraintsPath, "a list of constraints, e.g. [\"node.label.zone == a\"]", MaxListItems, unique: true, ReadConstraint).Sort()
                : [],
            Has("resources", out var resources, out var resourcesPath) ? ReadResources(resources, resourcesPath) : ResourceLimits.Default,
            writable.Sort(StringComparer.Ordinal),
            network.Sort(StringComparer.Ordinal),
            Has("user", out var user, out var userPath) ? ReadUser(user, userPath) : ContainerUser.Default,
            Has("cap_add", out var caps, out var capsPath)
                ? reader.Items(caps, capsPath, "a list of capabilities, e.g. [NET_BIND_SERVICE]", Capabilities.Known.Count, unique: true, ReadCapability).Sort(StringComparer.Ordinal)
                : [],
            Has("restart_backoff_max", out var backoff, out var backoffPath) ? ReadBackoff(backoff, backoffPath) : null);
        return image is null ? null : spec;
    }

    private string? ReadImage(SpecNode node, string path)
    {
        if (reader.Text(node, path, "an image reference, e.g. busybox:1.36") is not { } image)
            return null;
        if (image.Length <= 512 && SpecFormats.ImageReference().IsMatch(image))
            return image;
        reader.Refuse(path, node.Position, $"{image} is not a valid image reference",
            "give [registry/]name[:tag][@sha256:digest] with a lower-case name, e.g. nanobox-lab/busybox:latest");
        return null;
    }

    /// <summary>A list is the argv as is; one string runs through <c>/bin/sh -c</c>.</summary>
    private ImmutableArray<string> ReadCommand(SpecNode node, string path)
    {
        const string expected = "a list of arguments, e.g. [\"httpd\", \"-f\"], or one string for /bin/sh -c";
        if (node is SpecList)
            return reader.Items(node, path, expected, MaxCommandItems, unique: false, (item, itemPath) => reader.Text(item, itemPath, "an argument, or \"\" for an empty one"));
        if (reader.Text(node, path, expected) is not { } line)
            return [];
        if (line.Trim().Length > 0)
            return [Shell, "-c", line];
        reader.Refuse(path, node.Position, "is an empty command", "give a command, or remove the key to run the image's own");
        return [];
    }

    private static (string Problem, string Fix)? CheckEnvKey(string key) =>
        SpecFormats.EnvKey().IsMatch(key)
            ? null
            : ($"{key} is not a valid variable name", "use letters, digits and _, not starting with a digit");

    private static (string Problem, string Fix)? CheckLabelKey(string key) =>
        !SpecFormats.LabelKey().IsMatch(key)
            ? ($"{key} is not a valid label key", "use 1 to 128 of a-z 0-9 . _ -")
            : key.StartsWith(ReservedLabelPrefix, StringComparison.Ordinal)
                ? ($"{key} starts with {ReservedLabelPrefix}, which the agent keeps for its own labels", "choose another key")
                : null;

    private ComponentPort? ReadPort(SpecNode node, string path)
    {
        const string fix = "give NUMBER, NUMBER/tcp or NUMBER/udp, e.g. 8080/tcp";
        if (reader.Text(node, path, "a port, e.g. 8080/tcp") is not { } text)
            return null;
        var m = SpecFormats.Port().Match(text);
        if (!m.Success)
        {
            reader.Refuse(path, node.Position, $"{text} is not a port", fix);
            return null;
        }

        var number = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        var protocolText = m.Groups[2].Success ? m.Groups[2].Value.ToLowerInvariant() : "tcp";
        if (number is < 1 or > 65535)
            reader.Refuse(path, node.Position, $"port {number} is out of range", "give 1 to 65535");
        else if (protocolText is not ("tcp" or "udp"))
            reader.Refuse(path, node.Position, $"the protocol {m.Groups[2].Value} is not supported", "give tcp or udp");
        else
            return new ComponentPort(number, protocolText == "tcp" ? PortProtocol.Tcp : PortProtocol.Udp);
        return null;
    }

    private PlacementConstraint? ReadConstraint(SpecNode node, string path)
    {
        if (reader.Text(node, path, "a constraint, e.g. node.label.zone == a") is not { } text)
            return null;
        var m = SpecFormats.Constraint().Match(text);
        if (m.Success)
            return new PlacementConstraint(m.Groups[1].Value, m.Groups[2].Value == "==" ? ConstraintOperator.Equal : ConstraintOperator.NotEqual, m.Groups[3].Value);
        reader.Refuse(path, node.Position, $"{text} is not a constraint",
            "give node.id, node.name or node.label.KEY, then == or !=, then a value without spaces, e.g. node.label.zone == a");
        return null;
    }

    private ResourceLimits ReadResources(SpecNode node, string path)
    {
        var limits = ResourceLimits.Default;
        if (reader.Map(node, path, "a mapping, e.g. { memory: 128M, cpus: 0.5, pids: 256 }") is not { } map)
            return limits;
        var entries = reader.KnownEntries(map, path, ResourceKeys);
        if (entries.TryGetValue("memory", out var memory))
            limits = limits with { MemoryBytes = ReadMemory(memory.Value, SpecPath.Join(path, "memory")) ?? limits.MemoryBytes };
        if (entries.TryGetValue("cpus", out var cpus))
            limits = limits with { MilliCpus = ReadCpus(cpus.Value, SpecPath.Join(path, "cpus")) ?? limits.MilliCpus };
        if (entries.TryGetValue("pids", out var pids))
            limits = limits with { Pids = reader.Integer(pids.Value, SpecPath.Join(path, "pids"), MinPids, MaxPids) ?? limits.Pids };
        return limits;
    }

    private long? ReadMemory(SpecNode node, string path)
    {
        const string fix = "give a whole number with K, M or G, e.g. 256M";
        if (reader.Text(node, path, "a memory size, e.g. 256M") is not { } text)
            return null;
        var bytes = SpecFormats.ParseMemory(text);
        if (bytes is null)
            reader.Refuse(path, node.Position, $"{text} is not a memory size", fix);
        else if (bytes < SpecFormats.MinMemoryBytes)
            reader.Refuse(path, node.Position, $"{text} is below the minimum of 6M" + (char.IsDigit(text[^1]) ? " (a number without a unit is bytes)" : ""), "give 6M or more, e.g. 256M");
        else if (bytes > SpecFormats.MaxMemoryBytes)
            reader.Refuse(path, node.Position, $"{text} is above the maximum of 1024G", "give 1024G or less");
        else
            return bytes;
        return null;
    }

    private int? ReadCpus(SpecNode node, string path)
    {
        if (reader.Scalar(node, path, "a number of CPUs, e.g. 0.5") is not { } scalar)
            return null;
        var milli = SpecFormats.ParseMilliCpus(scalar.Text);
        if (!scalar.IsPlain)
            reader.Refuse(path, node.Position, $"\"{scalar.Text}\" is quoted, so it is text", "write the number without quotes");
        else if (milli is null)
            reader.Refuse(path, node.Position, $"{scalar.Text} is not a number of CPUs", "give a decimal number with at most 3 decimals, e.g. 0.5 or 2");
        else if (milli is < SpecFormats.MinMilliCpus or > SpecFormats.MaxMilliCpus)
            reader.Refuse(path, node.Position, $"{scalar.Text} CPUs is out of range", "give 0.01 to 256");
        else
            return milli;
        return null;
    }

    private ImmutableArray<string> ReadDirs(SpecNode node, string path) =>
        reader.Items(node, path, "a list of absolute directories, e.g. [/app/tmp]", MaxDirs, unique: true, (item, itemPath) =>
        {
            if (reader.Text(item, itemPath, "an absolute directory, e.g. /app/tmp") is not { } dir)
                return null;
            if (ContainerPaths.Check(dir) is not { } bad)
                return dir;
            reader.Refuse(itemPath, item.Position, bad.Problem, bad.Fix);
            return null;
        });

    /// <summary>
    /// Each directory gets its own mount; one inside another would split what each holds (and a
    /// writable dir inside a network dir would silently stop persisting), so they must not nest.
    /// </summary>
    private void CheckDirsApart(ImmutableArray<string> writable, SpecNode writableNode, ImmutableArray<string> network, SpecNode networkNode, string path)
    {
        var all = writable.Select(d => (Dir: d, List: "writable_dirs", Node: writableNode))
            .Concat(network.Select(d => (Dir: d, List: "network_dirs", Node: networkNode)))
            .ToList();
        for (var i = 0; i < all.Count; i++)
        {
            for (var j = 0; j < all.Count; j++)
            {
                var (inner, outer) = (all[i], all[j]);
                if (i == j || !ContainerPaths.IsSameOrUnder(inner.Dir, outer.Dir) || (inner.Dir == outer.Dir && i < j))
                    continue;
                var (at, index) = ItemOf(inner.Node, inner.Dir);
                var innerPath = $"{SpecPath.Join(path, inner.List)}[{index}]";
                if (inner.Dir == outer.Dir)
                    reader.Refuse(innerPath, at, $"{inner.Dir} is both a writable dir and a network dir", "keep it in one list");
                else
                    reader.Refuse(innerPath, at, $"{inner.Dir} is inside {outer.Dir} ({outer.List}, line {ItemOf(outer.Node, outer.Dir).At.Line})",
                        "keep one of them: a directory mounted inside another splits what each holds");
            }
        }
    }

    private static (SourcePosition At, int Index) ItemOf(SpecNode list, string text)
    {
        var items = ((SpecList)list).Items;
        var index = items.IndexOf(items.First(i => i is SpecScalar s && s.Text == text));
        return (items[index].Position, index);
    }

    private ContainerUser ReadUser(SpecNode node, string path)
    {
        if (reader.Text(node, path, "a numeric uid or uid:gid, e.g. 1000:1000") is not { } text)
            return ContainerUser.Default;
        var m = SpecFormats.User().Match(text);
        if (!m.Success)
        {
            reader.Refuse(path, node.Position, $"{text} is not a numeric user",
                "give uid or uid:gid, e.g. 1000 or 1000:1000 (user names depend on the image's /etc/passwd)");
            return ContainerUser.Default;
        }

        var uid = ReadId(m.Groups[1].Value, "uid", node, path);
        var gid = m.Groups[2].Success ? ReadId(m.Groups[2].Value, "gid", node, path) : uid;
        return new ContainerUser(uid, gid);
    }

    /// <summary>An id within the policy; a gid defaults to the uid, never to Docker's default of 0 (root's group).</summary>
    private int ReadId(string text, string what, SpecNode node, string path)
    {
        var id = long.Parse(text, CultureInfo.InvariantCulture);
        if (id > ContainerUser.MaxId)
            reader.Refuse(path, node.Position, $"{what} {text} is out of range", $"give {policy.MinimumUid} to {ContainerUser.MaxId}");
        else if (id < policy.MinimumUid)
            reader.Refuse(path, node.Position, $"{what} {text} is below {policy.MinimumUid}, the lowest the cluster's policy allows",
                $"run as {policy.MinimumUid} or above (an image that needs root or a system account must be rebuilt)");
        return (int)Math.Min(id, ContainerUser.MaxId);
    }

    private string? ReadCapability(SpecNode node, string path)
    {
        if (reader.Text(node, path, "a capability name, e.g. NET_BIND_SERVICE") is not { } text)
            return null;
        var upper = text.ToUpperInvariant();
        var name = upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper[4..] : upper;
        if (!Capabilities.Known.Contains(name))
        {
            reader.Refuse(path, node.Position, $"{text} is not a Linux capability",
                KeySuggestion.Closest(name, Capabilities.Known) is { } closest ? $"did you mean {closest}?" : "give a name from capabilities(7), e.g. NET_BIND_SERVICE");
            return null;
        }

        if (policy.DeniedCapabilities.Contains(name))
        {
            reader.Refuse(path, node.Position, $"{name} is refused by the cluster's policy: it lets a process reach past its container",
                "remove it; run what needs it outside the cluster's apps");
            return null;
        }

        if (Capabilities.Effective.Contains(name))
            return name;
        reader.Refuse(path, node.Position,
            $"{name} would have no effect: components run as a non-root user, and Docker gives such a process no effective capabilities (it sets no ambient ones)",
            $"remove it; only {string.Join(", ", Capabilities.Effective)} is supported (the agent grants it through the container's own net.ipv4.ip_unprivileged_port_start)");
        return null;
    }

    private TimeSpan? ReadBackoff(SpecNode node, string path)
    {
        if (reader.Text(node, path, "a duration, e.g. 5m") is not { } text)
            return null;
        var duration = SpecFormats.ParseDuration(text);
        if (duration is null)
            reader.Refuse(path, node.Position, $"{text} is not a duration", "give hours, minutes and seconds such as 30s, 5m or 1h30m");
        else if (duration < SpecFormats.MinBackoff || duration > SpecFormats.MaxBackoff)
            reader.Refuse(path, node.Position, $"{text} is out of range", "give 1s to 1h");
        else
            return duration;
        return null;
    }
}
