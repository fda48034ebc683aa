namespace Nanobox.Node.Cluster.Join;

/// <summary>
/// Limits on the join port, which anyone can reach: every phase of a connection has its own
/// deadline, so a client that stalls (slowloris) holds a slot for a bounded time, and the slots are
/// capped, so stalling clients cannot exhaust the node.
/// </summary>
public sealed record JoinServerOptions
{
    /// <summary>For the TLS handshake, from accept.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>For the whole request to arrive after the hello, however it is dribbled.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>For the authority's decision (forwarding to the leader, a Raft commit) and the reply.</summary>
    public TimeSpan AdmitTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Connections served at once; further ones are closed straight after accept.</summary>
    public int MaxConnections { get; init; } = 32;
}
