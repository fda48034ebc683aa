using System.Net;

namespace Nanobox.Node.Cluster.Consensus;

/// <summary>
/// Settings of this node's Raft voter. Timings are tuned for failover on a LAN: the budget is
/// 1.5 s from a dead leader to the next committed write. A follower notices the silence after one
/// election timeout (150-300 ms, randomised so candidates rarely collide), pre-votes and votes take a
/// round trip each, and the new leader commits on its next heartbeat: about 0.3-0.6 s in all.
/// </summary>
public sealed record ConsensusOptions
{
    /// <summary>Port of the control request listener (forwarded writes, state reads for non-voters): DotNext owns <see cref="ClusterPorts.Control"/> with its own protocol and cannot share it.</summary>
    public const int DefaultRequestsPort = ClusterPorts.Requests;

    /// <summary>This node's id (its certificate identity), advertised to peers so forwarded requests can pin it.</summary>
    public required string NodeId { get; init; }

    /// <summary>The node's data dir; Raft keeps its WAL and snapshots under <c>raft/</c> in it.</summary>
    public required string DataDir { get; init; }

    /// <summary>Raft listens here (mTLS) and peers reach it here: bind to the advertised address, not 0.0.0.0.</summary>
    public required IPEndPoint ControlEndPoint { get; init; }

    /// <summary>Where this node serves control requests; peers learn it from the Raft member metadata.</summary>
    public required IPEndPoint RequestsEndPoint { get; init; }

    /// <summary>
    /// True on the node that creates the cluster: on its first start (no WAL yet) it forms a
    /// one-voter configuration and leads it. Every other node starts empty and waits to be added.
    /// </summary>
    public bool Bootstrap { get; init; }

    /// <summary>A follower that hears nothing from a leader for a random time in [lower, upper] stands for election.</summary>
    public TimeSpan LowerElectionTimeout { get; init; } = TimeSpan.FromMilliseconds(150);

    public TimeSpan UpperElectionTimeout { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// Longest wait for one Raft request (vote, append), a new connection's connect and TLS handshake included.
    /// Above the election timeout so a loaded peer is not written off during a heartbeat round, short
    /// enough that a leader cut off from the majority steps down well inside <see cref="WriteTimeout"/>.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMilliseconds(600);

    /// <summary>
    /// Longest wait for a new connection to a peer: DotNext counts the TCP connect and the mutual-TLS
    /// handshake against it together. A leader's replication round waits on every voter, a dead one
    /// included, so this bounds how much a down voter delays the first commit after failover. Plenty for
    /// a LAN round trip and a handshake between responsive agents; a peer that cannot answer a handshake
    /// this fast (a hung agent) is not reconnected until it can.
    /// </summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromMilliseconds(150);

    /// <summary>How long a write may look for a leader with a quorum (failover included) before <see cref="NoQuorumException"/>: twice the failover budget.</summary>
    public TimeSpan WriteTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Snapshot the state every so many log entries; the state is small, so snapshots are cheap and keep replay short.</summary>
    public int SnapshotEvery { get; init; } = 64;

    /// <summary>Replication rounds a joining voter gets to catch up before the configuration change is proposed.</summary>
    public int WarmupRounds { get; init; } = 10;

    public string RaftDirectory => Path.Combine(DataDir, "raft");

    /// <exception cref="ArgumentException">A setting is out of range; the message names it.</exception>
    public void Validate()
    {
        Check(NodeId.Length > 0, "NodeId is required");
        Check(Path.IsPathFullyQualified(DataDir), "DataDir must be an absolute path");
        Check(ControlEndPoint.Port > 0 && RequestsEndPoint.Port > 0, "ControlEndPoint and RequestsEndPoint need a port");
        Check(!ControlEndPoint.Equals(RequestsEndPoint), "ControlEndPoint and RequestsEndPoint must differ");
        Check(!ControlEndPoint.Address.Equals(IPAddress.Any) && !ControlEndPoint.Address.Equals(IPAddress.IPv6Any), "ControlEndPoint must be the advertised address, not a wildcard");
        Check(LowerElectionTimeout >= TimeSpan.FromMilliseconds(50), "LowerElectionTimeout must be at least 50 ms");
        Check(UpperElectionTimeout > LowerElectionTimeout, "UpperElectionTimeout must be above LowerElectionTimeout");
        Check(RequestTimeout >= LowerElectionTimeout, "RequestTimeout must be at least LowerElectionTimeout");
        Check(ConnectTimeout > TimeSpan.Zero && ConnectTimeout <= RequestTimeout, "ConnectTimeout must be positive and at most RequestTimeout");
        Check(WriteTimeout > UpperElectionTimeout, "WriteTimeout must exceed UpperElectionTimeout, or no write survives a failover");
        Check(SnapshotEvery > 0, "SnapshotEvery must be positive");
        Check(WarmupRounds > 0, "WarmupRounds must be positive");
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
            throw new ArgumentException($"consensus options: {message}");
    }
}
