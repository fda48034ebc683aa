using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Nanobox.Node.Runtime.Spec;

/// <summary>
/// A validated app spec (from <see cref="AppSpecParser.Parse"/>). Collections are sorted where order
/// carries no meaning, so two specs that mean the same serialise to the same bytes.
/// </summary>
/// <param name="App">The app's name: <c>[a-z][a-z0-9-]{0,30}</c>.</param>
/// <param name="Components">By component id (<c>web.main</c>).</param>
public sealed record AppSpec(string App, ImmutableSortedDictionary<string, ComponentSpec> Components)
{
    /// <summary>The canonical JSON: what the replicated state stores and fingerprints hash.</summary>
    public byte[] ToCanonicalJson() => JsonSerializer.SerializeToUtf8Bytes(this, RuntimeJsonContext.Default.AppSpec);

    /// <summary>Equal when the canonical JSON is (immutable collections compare by reference otherwise).</summary>
    public bool Equals(AppSpec? other) =>
        ReferenceEquals(this, other) || (other is not null && ToCanonicalJson().AsSpan().SequenceEqual(other.ToCanonicalJson()));

    public override int GetHashCode() => HashCode.Combine(App, Components.Count);
}

public enum ComponentKind
{
    [JsonStringEnumMemberName("web")]
    Web,

    [JsonStringEnumMemberName("worker")]
    Worker,

    [JsonStringEnumMemberName("data")]
    Data,
}

/// <summary>One component of an app, with every default filled in.</summary>
/// <param name="Command">Empty: the image's default command. A spec's single string became <c>/bin/sh -c STRING</c>.</param>
/// <param name="Ports">Overlay ports the component listens on, sorted.</param>
/// <param name="Constraints">All must hold for a node to run an instance; sorted.</param>
/// <param name="WritableDirs">The only writable paths besides /tmp, per instance; sorted.</param>
/// <param name="NetworkDirs">Persisted paths shared by the component's instances on a node; sorted.</param>
/// <param name="CapAdd">Capabilities added back (all others are dropped), without the CAP_ prefix; sorted.</param>
/// <param name="RestartBackoffMax">The longest wait between restarts of a crashing instance; null: the agent's default.</param>
public sealed record ComponentSpec(
    ComponentKind Kind,
    string Name,
    string Image,
    ImmutableArray<string> Command,
    ImmutableSortedDictionary<string, string> Env,
    ImmutableArray<ComponentPort> Ports,
    int Replicas,
    ImmutableSortedDictionary<string, string> Labels,
    ImmutableArray<PlacementConstraint> Constraints,
    ResourceLimits Resources,
    ImmutableArray<string> WritableDirs,
    ImmutableArray<string> NetworkDirs,
    ContainerUser User,
    ImmutableArray<string> CapAdd,
    TimeSpan? RestartBackoffMax)
{
    /// <summary><c>web.main</c>: kind and name, the key in <see cref="AppSpec.Components"/>.</summary>
    [JsonIgnore]
    public string Id => $"{KindName(Kind)}.{Name}";

    /// <summary>The kind as a spec writes it: <c>web</c>, <c>worker</c>, <c>data</c>.</summary>
    public static string KindName(ComponentKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary>
    /// A short stable hash (16 hex digits of SHA-256) of everything that shapes this component's
    /// containers, and of the pinned image: a running container whose recorded fingerprint differs
    /// must be replaced. Replicas, constraints and the restart back-off are left out: changing them
    /// moves, adds or removes instances, or changes how the agent waits, but never changes a container.
    /// </summary>
    /// <param name="imagePin">The image id or repo digest the release pinned <see cref="Image"/> to.</param>
    public string Fingerprint(string? imagePin)
    {
        var shape = this with { Replicas = 1, Constraints = [], RestartBackoffMax = null };
        var pin = Encoding.UTF8.GetBytes("\n" + (imagePin ?? ""));
        return Convert.ToHexStringLower(SHA256.HashData([.. shape.ToCanonicalJson(), .. pin]).AsSpan(0, 8));
    }

    public byte[] ToCanonicalJson() => JsonSerializer.SerializeToUtf8Bytes(this, RuntimeJsonContext.Default.ComponentSpec);

    /// <summary>Equal when the canonical JSON is (immutable collections compare by reference otherwise).</summary>
    public bool Equals(ComponentSpec? other) =>
        ReferenceEquals(this, other) || (other is not null && ToCanonicalJson().AsSpan().SequenceEqual(other.ToCanonicalJson()));

    public override int GetHashCode() => HashCode.Combine(Kind, Name, Image);
}

public enum PortProtocol
{
    [JsonStringEnumMemberName("tcp")]
    Tcp,

    [JsonStringEnumMemberName("udp")]
    Udp,
}

public sealed record ComponentPort(int Number, PortProtocol Protocol) : IComparable<ComponentPort>
{
    public int CompareTo(ComponentPort? other) =>
        other is null ? 1 : (Number, Protocol).CompareTo((other.Number, other.Protocol));

    /// <summary><c>8080/tcp</c></summary>
    public override string ToString() => $"{Number}/{Protocol.ToString().ToLowerInvariant()}";
}

/// <param name="MemoryBytes">Hard memory limit (the container is OOM-killed beyond it); also what placement reserves.</param>
/// <param name="MilliCpus">CPU limit in thousandths of a CPU (0.5 CPUs = 500); also what placement reserves.</param>
/// <param name="Pids">Most processes and threads at once.</param>
public sealed record ResourceLimits(long MemoryBytes, int MilliCpus, int Pids)
{
    public static ResourceLimits Default { get; } = new(256L * 1024 * 1024, 1000, 512);
}

/// <summary>The numeric user the container's processes run as.</summary>
public sealed record ContainerUser(int Uid, int Gid)
{
    /// <summary>Docker and the kernel take 32-bit ids; 2^31-1 keeps them ints and clear of (uid_t)-1.</summary>
    public const int MaxId = int.MaxValue;

    public static ContainerUser Default { get; } = new(1000, 1000);

    /// <summary><c>1000:1000</c>, as Docker takes it.</summary>
    public override string ToString() => $"{Uid}:{Gid}";
}

public enum ConstraintOperator
{
    [JsonStringEnumMemberName("==")]
    Equal,

    [JsonStringEnumMemberName("!=")]
    NotEqual,
}

/// <summary>A condition on a node's id, name or label, e.g. <c>node.label.zone == a</c>.</summary>
/// <param name="Attribute"><c>node.id</c>, <c>node.name</c> or <c>node.label.KEY</c>.</param>
public sealed record PlacementConstraint(string Attribute, ConstraintOperator Operator, string Value) : IComparable<PlacementConstraint>
{
    public const string NodeId = "node.id";
    public const string NodeName = "node.name";
    public const string LabelPrefix = "node.label.";

    /// <summary>
    /// Whether a node satisfies the condition. A node without the label fails <c>==</c> and passes
    /// <c>!=</c>: "not in zone a" holds for a node in no zone.
    /// </summary>
    public bool Matches(string nodeId, string nodeName, IReadOnlyDictionary<string, string> labels)
    {
        var actual = Attribute switch
        {
            NodeId => nodeId,
            NodeName => nodeName,
            _ => labels.TryGetValue(Attribute[LabelPrefix.Length..], out var v) ? v : null,
        };
        return string.Equals(actual, Value, StringComparison.Ordinal) == (Operator == ConstraintOperator.Equal);
    }

    public int CompareTo(PlacementConstraint? other) =>
        other is null ? 1 : string.CompareOrdinal(ToString(), other.ToString());

    /// <summary><c>node.label.zone == a</c></summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Attribute} {(Operator == ConstraintOperator.Equal ? "==" : "!=")} {Value}");
}
