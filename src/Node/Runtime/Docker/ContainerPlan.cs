using System.Net;
using System.Net.NetworkInformation;

namespace Nanobox.Node.Runtime.Docker;

/// <summary>
/// One instance of an app component, as the agent decided to run it on this node: everything
/// <see cref="ContainerSpecBuilder"/> needs to render a locked-down container, and nothing else.
/// Host paths are the agent's own (prepared and owned by it); everything else comes from the spec.
/// </summary>
public sealed record ContainerPlan
{
    /// <summary>The app's name, e.g. <c>shop</c>.</summary>
    public required string App { get; init; }

    /// <summary>The component id, <c>&lt;kind&gt;.&lt;name&gt;</c>, e.g. <c>web.main</c>.</summary>
    public required string Component { get; init; }

    /// <summary>Which replica of the component this is, from 0.</summary>
    public required int Instance { get; init; }

    /// <summary>The node that runs it; only that node's agent lists and touches it.</summary>
    public required string NodeId { get; init; }

    /// <summary>Pinned: an image id (<c>sha256:…</c>) or <c>repository@sha256:…</c>; never a tag.</summary>
    public required string Image { get; init; }

    /// <summary>Replaces the image's CMD; null keeps it.</summary>
    public IReadOnlyList<string>? Command { get; init; }

    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Numeric <c>uid:gid</c>; never 0 (names could resolve to root inside the image).</summary>
    public required string User { get; init; }

    /// <summary>Container path to host path: the instance's own writable directories.</summary>
    public IReadOnlyDictionary<string, string> WritableDirectories { get; init; } = new Dictionary<string, string>();

    /// <summary>Container path to host path: persisted directories shared by the component's instances on a node.</summary>
    public IReadOnlyDictionary<string, string> NetworkDirectories { get; init; } = new Dictionary<string, string>();

    /// <summary>What the component listens on; recorded on the container, never published on the host.</summary>
    public IReadOnlyList<ContainerPort> Ports { get; init; } = [];

    public required long MemoryBytes { get; init; }

    /// <summary>CPU in billionths of a CPU (1.5 CPUs = 1 500 000 000).</summary>
    public required long NanoCpus { get; init; }

    public required long PidsLimit { get; init; }

    /// <summary>Capabilities added back after dropping all, e.g. <c>NET_BIND_SERVICE</c>; each one an explicit spec key.</summary>
    public IReadOnlyList<string> CapAdd { get; init; } = [];

    /// <summary>The spec's labels; the <c>io.nanobox.</c> namespace is ours and refused here.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>The overlay attachment; null runs the container with no network at all.</summary>
    public NetworkAttachment? Network { get; init; }

    /// <summary>Identifies the spec the container was made from: a different one means "recreate".</summary>
    public required string Fingerprint { get; init; }

    /// <summary>Size of the /tmp tmpfs (and of /dev/shm): memory the instance may use as scratch space.</summary>
    public long TmpSizeBytes { get; init; } = ContainerSpecBuilder.DefaultTmpSizeBytes;
}

/// <summary>The container's place on a Docker network: a fixed address and MAC from the node's block.</summary>
public sealed record NetworkAttachment(string Network, IPAddress IPv4Address, PhysicalAddress MacAddress);

/// <summary>A port the component listens on, inside its container.</summary>
public sealed record ContainerPort(int Port, string Protocol = "tcp");
