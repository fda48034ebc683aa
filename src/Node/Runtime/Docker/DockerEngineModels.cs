using System.Net;
using System.Net.NetworkInformation;

namespace Nanobox.Node.Runtime.Docker;

/// <summary>What `docker version` reports about the engine.</summary>
public sealed record DockerEngineVersion(string Version, string ApiVersion, string MinApiVersion, string Os, string Arch, string KernelVersion);

/// <summary>One of this node's containers, as the engine sees it now.</summary>
public sealed record ManagedContainer
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required string App { get; init; }
    public required string Component { get; init; }
    public required int Instance { get; init; }
    public required string Fingerprint { get; init; }

    /// <summary>The reference it was created from (pinned).</summary>
    public required string Image { get; init; }

    /// <summary>The image id it runs.</summary>
    public required string ImageId { get; init; }

    /// <summary>The engine's status: created, running, paused, restarting, removing, exited or dead.</summary>
    public required string State { get; init; }

    public bool IsRunning => State == "running";

    public long ExitCode { get; init; }
    public bool OomKilled { get; init; }

    /// <summary>The engine's own restart count; the agent restarts with its own backoff, so this stays 0 unless someone else did.</summary>
    public long RestartCount { get; init; }

    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>The Docker network it is attached to; null with no network.</summary>
    public string? Network { get; init; }

    /// <summary>Its address on <see cref="Network"/>: the one it has while running, else the fixed one it was created with.</summary>
    public IPAddress? IPv4Address { get; init; }
    public string? MacAddress { get; init; }
}

/// <summary>An image in the engine: its id and the registry digests it is known by (none when it was imported locally).</summary>
public sealed record ImageDetails(string Id, IReadOnlyList<string> RepoTags, IReadOnlyList<string> RepoDigests, IReadOnlyList<string> Volumes);

/// <summary>Which log lines to read.</summary>
public sealed record ContainerLogOptions
{
    /// <summary>Keep reading as lines come; the stream ends when the container stops.</summary>
    public bool Follow { get; init; }

    public DateTimeOffset? Since { get; init; }

    /// <summary>Only the last N lines of what is there; null for all.</summary>
    public int? Tail { get; init; }
}

public enum ContainerLogStream
{
    StandardOutput,
    StandardError,
}

/// <summary>One line of a container's output, without its newline, stamped by the engine when it was written.</summary>
public sealed record ContainerLogLine(ContainerLogStream Stream, DateTimeOffset? Time, string Text);

/// <summary>
/// A user-defined bridge network: the node's containers attach to it with addresses from
/// <see cref="Subnet"/> (<see cref="IpRange"/> limits the engine's own allocations).
/// </summary>
public sealed record BridgeNetworkSpec(string Name, IPNetwork Subnet, IPAddress Gateway)
{
    public IPNetwork? IpRange { get; init; }

    /// <summary>The Linux bridge's name (<c>com.docker.network.bridge.name</c>); null lets the engine pick <c>br-…</c>.</summary>
    public string? BridgeName { get; init; }

    /// <summary><c>com.docker.network.driver.mtu</c>; null keeps the engine's default.</summary>
    public int? Mtu { get; init; }
}

/// <summary>A container's attachment to a network: its address and MAC there.</summary>
public sealed record NetworkEndpoint(string Container, IPAddress Address, PhysicalAddress Mac);

public enum NetworkEnsureOutcome
{
    /// <summary>It did not exist and was made.</summary>
    Created,

    /// <summary>It existed with the same settings and was kept as it is.</summary>
    Existing,
}
