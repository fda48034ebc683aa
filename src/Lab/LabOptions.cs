namespace Nanobox.Lab;

/// <summary>How a <see cref="Lab"/> is built.</summary>
public sealed record LabOptions
{
    /// <summary>Number of hosts, h1..hN (1 to 250: host i gets 198.18.0.i).</summary>
    public int Hosts { get; init; } = 3;

    /// <summary>Run a private dockerd in every host (socket in <see cref="LabHost.DockerSocket"/>).</summary>
    public bool Docker { get; init; }

    /// <summary>Start a nanobox agent in every host and wait until each answers `status`.</summary>
    public bool StartNodes { get; init; } = true;

    /// <summary>The nanobox binary; else env NANOBOX_BIN; else &lt;repo&gt;/artifacts/publish/nanobox.</summary>
    public string? NodeBinary { get; init; }

    /// <summary>
    /// The lab outlives this process (the by-hand CLI's `up`): its owner is "manual", so no sweep removes
    /// it, agents run in a session of their own, and no ProcessExit handler tears it down.
    /// </summary>
    public bool Persistent { get; init; }

    /// <summary>Where the lab reports what it does (sweeps, teardown trouble). Default: stderr.</summary>
    public Action<string>? Log { get; init; }
}
