namespace Nanobox.Node.Cluster;

/// <summary>What went wrong with a cluster operation, as the admin API reports it.</summary>
public enum ClusterErrorKind
{
    /// <summary>The request cannot apply to this node as it is (already in a cluster, not in one).</summary>
    Conflict,

    /// <summary>The request itself is wrong (a malformed token or address).</summary>
    BadRequest,

    /// <summary>The other side refused (wrong token, wrong CA, revoked).</summary>
    Refused,

    /// <summary>The other node could not be reached.</summary>
    Unreachable,

    /// <summary>No leader with a quorum: writes are refused until one is reachable.</summary>
    NoQuorum,
}

/// <summary>A cluster operation failed; the message says why and what to do.</summary>
public sealed class ClusterException(ClusterErrorKind kind, string message, Exception? inner = null) : Exception(message, inner)
{
    public ClusterErrorKind Kind { get; } = kind;
}
