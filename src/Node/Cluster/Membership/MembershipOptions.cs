namespace Nanobox.Node.Cluster.Membership;

/// <summary>
/// Timing and sizing of the gossip protocol. The defaults are tuned for a LAN of 3 to a few hundred nodes
/// to meet two targets at once: a killed node is marked dead everywhere within 2 s (median, 5 nodes), and
/// 10 % datagram loss causes no false "dead" verdict. memberlist's LAN profile (1 s probes, 4 s minimum
/// suspicion) needs over 5 s for the first target; the values below shorten the probe period to 400 ms and
/// the suspicion floor to 1 s, and lean on indirect probes, the TCP fallback and Lifeguard's confirmations
/// for the second.
/// Measured results are in docs/GOSSIP.md.
/// </summary>
public sealed record MembershipOptions
{
    /// <summary>
    /// One member is probed per interval, round-robin over a shuffled list, so each member is probed by
    /// each of the n−1 others every (n−1)·interval and the first probe of a failed member starts after
    /// about interval·(n−1)/n on average. 400 ms (memberlist: 1 s) costs ~5 small datagrams/s per node.
    /// </summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromMilliseconds(400);

    /// <summary>
    /// Wait for a direct ack before asking relays. LAN round trips are well under 1 ms; 200 ms leaves room
    /// for a GC pause or a busy peer and for the indirect round to finish inside the probe interval.
    /// </summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Relays asked to probe a member that missed its direct ack. With 10 % loss a relayed round trip
    /// (four datagrams) fails 34 % of the time, so three relays all fail ~4 % of the time, and the TCP
    /// fallback covers the rest.
    /// </summary>
    public int IndirectChecks { get; init; } = 3;

    /// <summary>Also probe over TCP when the direct ack is missed: datagram loss cannot fail it.</summary>
    public bool TcpFallbackProbe { get; init; } = true;

    /// <summary>
    /// Minimum suspicion = multiplier × max(1, log10 n) × probe interval: 1 s up to 10 nodes, 2 s at 100.
    /// The floor must let a suspicion reach the accused and its refutation come back: at 200 ms gossip
    /// rounds to 3 nodes, that is ~log3(n) rounds each way (memberlist: 4 × 1 s, i.e. 4 s at 10 nodes).
    /// </summary>
    public double SuspicionMultiplier { get; init; } = 2.5;

    /// <summary>
    /// Maximum suspicion = this × the minimum. A lone accuser (perhaps the sick one) waits the maximum;
    /// each independent confirmation shrinks it logarithmically toward the minimum (Lifeguard). memberlist
    /// uses 6; 2 keeps a lone accuser's verdict at small n within 2 s of its suspicion.
    /// </summary>
    public double SuspicionMaxTimeoutMultiplier { get; init; } = 2;

    /// <summary>
    /// Independent confirmations after which the suspicion timeout reaches its minimum (Lifeguard's K),
    /// capped at n−2 (everyone but the accused and the accuser). memberlist's LAN profile works out to 2.
    /// </summary>
    public int SuspicionConfirmations { get; init; } = 2;

    /// <summary>Lifeguard local health: timeouts and the probe interval stretch up to this factor on an unhealthy node.</summary>
    public int AwarenessMaxMultiplier { get; init; } = 8;

    /// <summary>Each gossip message is sent multiplier × ⌈log10(n+1)⌉ times (4 at 5 nodes, 12 at 100), as in memberlist.</summary>
    public int RetransmitMultiplier { get; init; } = 4;

    /// <summary>Pending gossip is sent to <see cref="GossipNodes"/> random members this often, besides riding on probes and acks.</summary>
    public TimeSpan GossipInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    public int GossipNodes { get; init; } = 3;

    /// <summary>Dead members still get gossip this long, so a falsely declared member hears of it and refutes.</summary>
    public TimeSpan GossipToTheDeadTime { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Full state exchange with one random member (and one random dead one, to heal partitions) over TCP.
    /// Scaled up beyond 32 members as memberlist does, to keep total push/pull traffic flat.
    /// </summary>
    public TimeSpan PushPullInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Connect, secure and exchange on a gossip stream (push/pull, join, TCP probe) within this time.</summary>
    public TimeSpan StreamTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Dead and left members are forgotten after this; until then they are listed and not re-added by stale gossip.</summary>
    public TimeSpan ReapAfter { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Largest datagram on the wire, protector overhead included: under a 1500-byte MTU with IP/UDP headers.</summary>
    public int MaxDatagramSize { get; init; } = 1400;

    /// <summary>Largest push/pull frame accepted: ~4000 members of full metadata.</summary>
    public int MaxStreamFrameSize { get; init; } = 4 << 20;

    internal void Validate()
    {
        if (ProbeTimeout >= ProbeInterval)
        {
            throw new ArgumentException($"probe timeout ({ProbeTimeout}) must be shorter than the probe interval ({ProbeInterval})");
        }

        if (IndirectChecks < 0 || GossipNodes < 1 || RetransmitMultiplier < 1 || AwarenessMaxMultiplier < 1 || SuspicionConfirmations < 0)
        {
            throw new ArgumentException("gossip counts must be positive (indirect checks and confirmations may be 0)");
        }

        if (SuspicionMultiplier <= 0 || SuspicionMaxTimeoutMultiplier < 1)
        {
            throw new ArgumentException("suspicion multipliers must be positive, the maximum at least 1");
        }
    }
}
