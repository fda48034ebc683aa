namespace Nanobox.Node.Runtime.Distribution;

/// <summary>
/// Bounds of the node-to-node data paths (image copies and log streams on the request port). Every wait
/// has a limit, so a dead or stalled peer costs a timeout rather than a stuck deploy or a pile of
/// connections; heartbeats keep a quiet but healthy stream apart from a dead one.
/// </summary>
internal static class DataPathLimits
{
    /// <summary>The largest `docker save` archive a node sends or accepts; anything larger is refused mid-way.</summary>
    public const long MaxImageBytes = 8L << 30;

    /// <summary>One archive chunk on the wire: big enough that framing costs nothing, small enough to bound memory.</summary>
    public const int ArchiveChunkBytes = 256 << 10;

    /// <summary>Exports a node serves at once (each is a `docker save` plus a network stream); more wait for a slot.</summary>
    public const int MaxConcurrentExports = 3;

    /// <summary>How long an export waits for a slot before answering that the node is busy.</summary>
    public static readonly TimeSpan ExportSlotWait = TimeSpan.FromSeconds(10);

    /// <summary>"Do you have this image": connect, mutual TLS and the answer, per peer, all peers asked at once.</summary>
    public static readonly TimeSpan FindTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Connect, mutual TLS and the response of a stream request (the engine answers an inspect first).</summary>
    public static readonly TimeSpan OpenTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A sender with nothing to send (an engine still preparing `docker save`, a quiet container) sends a heartbeat this often.</summary>
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(5);

    /// <summary>A reader that hears nothing, heartbeats included, for this long gives the peer up.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(30);

    /// <summary>A sender whose write does not complete for this long (the reader stopped reading) gives the reader up.</summary>
    public static readonly TimeSpan WriteStallTimeout = TimeSpan.FromSeconds(60);

    /// <summary>A log frame carries at most this many lines...</summary>
    public const int MaxLogBatchLines = 256;

    /// <summary>...and this many characters of text (JSON escaping keeps a frame far below the control frame limit).</summary>
    public const int MaxLogBatchChars = 64 << 10;

    /// <summary>Longer lines travel in pieces of this many characters (the engine itself splits lines at 16 KiB).</summary>
    public const int MaxLogLineChars = 16 << 10;
}
