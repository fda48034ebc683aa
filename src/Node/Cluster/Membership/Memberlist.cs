using System.Net;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Security;

namespace Nanobox.Node.Cluster.Membership;

/// <summary>
/// SWIM membership with Lifeguard, after hashicorp/memberlist: this node probes one member per interval
/// (directly, then through relays and over TCP), suspects those that do not answer, declares them dead
/// when the suspicion times out unrefuted, and spreads what it learns piggybacked on its probes and acks,
/// plus a periodic full-state push/pull over a secured stream. Members are identified by node id; their
/// metadata (name, addresses, ports...) may change with each incarnation.
/// </summary>
/// <remarks>
/// All member state is guarded by one lock; timers and received datagrams call in from any thread (or,
/// under virtual time in tests, all from one). Files: this one (lifecycle and API), Memberlist.Probe.cs
/// (failure detection), Memberlist.State.cs (state merging and refutation), Memberlist.Network.cs
/// (datagrams, gossip, streams and push/pull).
/// </remarks>
public sealed partial class Memberlist : IGossipReceiver, IAsyncDisposable
{
    private readonly MembershipOptions _options;
    private readonly IGossipTransport _transport;
    private readonly IDatagramProtector _protector;
    private readonly IStreamSecurity _streamSecurity;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ILogger _logger;
    // Lock order: this lock before the broadcast queue's, never after; under it only leaf calls (queue, event channels, timers, logs).
    private readonly Lock _gate = new();
    private readonly Dictionary<string, MemberRecord> _members = new(StringComparer.Ordinal);
    private readonly MemberRecord _self;
    private readonly BroadcastQueue _broadcasts;
    private readonly Awareness _awareness;
    private readonly CancellationTokenSource _stopping = new();
    private Task[] _loops = [];
    private bool _started;
    private bool _leaving;

    /// <param name="localId">This node's id (from its identity).</param>
    /// <param name="meta">What this node announces; validated against the size cap.</param>
    /// <param name="incarnation">
    /// Where to start counting: the caller persists <see cref="Incarnation"/> and passes the stored value + 1
    /// after a restart, so an announcement with a new address outranks what the cluster remembers.
    /// </param>
    /// <param name="random">Drives shuffles and target choice; seed it for reproducible simulations.</param>
    public Memberlist(
        string localId,
        NodeMeta meta,
        uint incarnation,
        MembershipOptions options,
        IGossipTransport transport,
        IDatagramProtector protector,
        IStreamSecurity streamSecurity,
        TimeProvider time,
        Random random,
        ILogger<Memberlist> logger)
    {
        NodeId.Require(localId, nameof(localId));
        meta.Validate();
        options.Validate();
        if (options.MaxDatagramSize - protector.Overhead < 256)
        {
            throw new ArgumentException($"max datagram size {options.MaxDatagramSize} leaves too little room after the protector's {protector.Overhead} bytes");
        }

        LocalId = localId;
        _options = options;
        _transport = transport;
        _protector = protector;
        _streamSecurity = streamSecurity;
        _time = time;
        _random = random;
        _logger = logger;
        _awareness = new Awareness(options.AwarenessMaxMultiplier);
        _broadcasts = new BroadcastQueue(options.RetransmitMultiplier, () => MemberCount);
        _self = new MemberRecord(localId, meta, incarnation, MemberState.Alive, time.GetUtcNow());
        _members.Add(localId, _self);
    }

    public string LocalId { get; }

    /// <summary>This node's current incarnation; persist it so a restart can announce a higher one.</summary>
    public uint Incarnation
    {
        get
        {
            lock (_gate)
            {
                return _self.Incarnation;
            }
        }
    }

    /// <summary>Lifeguard's local health score: 0 is healthy; each point stretches probe timing by one more interval.</summary>
    public int HealthScore => _awareness.Score;

    public MembershipEvents Events { get; } = new();

    public GossipCounters Counters { get; } = new();

    private int MemberCount
    {
        get
        {
            lock (_gate)
            {
                return _members.Count;
            }
        }
    }

    /// <summary>Every known member, this node included, dead and left ones until reaped; ordered by name, then id.</summary>
    public IReadOnlyList<Member> Members()
    {
        lock (_gate)
        {
            return [.. _members.Values.Select(m => m.Snapshot()).OrderBy(m => m.Name, StringComparer.Ordinal).ThenBy(m => m.Id, StringComparer.Ordinal)];
        }
    }

    public Member? Find(string id)
    {
        lock (_gate)
        {
            return _members.TryGetValue(id, out var member) ? member.Snapshot() : null;
        }
    }

    /// <summary>Starts receiving and the probe, gossip and push/pull loops. A lone node until <see cref="JoinAsync"/>.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_started)
            {
                throw new InvalidOperationException("membership already started");
            }

            _started = true;
            BroadcastSelf();
        }

        _transport.Start(this);
        var stopping = _stopping.Token;
        _loops = [ProbeLoopAsync(stopping), GossipLoopAsync(stopping), PushPullLoopAsync(stopping)];
    }

    /// <summary>
    /// Exchanges full state with every seed at once and is done at the first answer: one full state is all a
    /// joiner needs (gossip tells everyone else), and a seed whose firewall has not let this node in yet would
    /// otherwise hold the join for the kernel's 1 s SYN retransmission. Returns 1 when a seed answered, else 0.
    /// </summary>
    public async Task<int> JoinAsync(IEnumerable<IPEndPoint> seeds, CancellationToken cancellationToken)
    {
        using var answered = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pending = seeds.Select(seed => PushPullAsync(seed, expectedNodeId: null, answered.Token)).ToList();
        var tried = pending.Count;
        var joined = 0;
        while (pending.Count > 0 && joined == 0)
        {
            var exchange = await Task.WhenAny(pending).ConfigureAwait(false);
            pending.Remove(exchange);
            joined = await exchange.ConfigureAwait(false) ? 1 : 0;
        }

        await answered.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(pending).ConfigureAwait(false);
        Log.Joined(_logger, joined, tried);
        return joined;
    }

    /// <summary>Announces new metadata (address, overlay endpoint, labels...) under a new incarnation.</summary>
    public void UpdateMeta(NodeMeta meta)
    {
        meta.Validate();
        lock (_gate)
        {
            _self.Meta = meta;
            _self.Incarnation++;
            BroadcastSelf();
        }
    }

    /// <summary>
    /// Announces a graceful leave and waits (up to <paramref name="timeout"/>) until the announcement has
    /// been gossiped its full number of times, so others record "left", not "dead". Dispose afterwards.
    /// </summary>
    public async Task LeaveAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        // Completed by the broadcast queue, sometimes under this class's lock: the caller resumes elsewhere.
        var sent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool alone;
        lock (_gate)
        {
            if (_leaving)
            {
                return;
            }

            _leaving = true;
            _self.Incarnation++;
            _self.SetState(MemberState.Left, _time.GetUtcNow());
            alone = !_members.Values.Any(m => m != _self && m.State is MemberState.Alive or MemberState.Suspect);
            Broadcast(LocalId, new LeaveMessage(LocalId, _self.Incarnation), sent);
        }

        if (alone)
        {
            return;
        }

        try
        {
            await sent.Task.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.LeaveTimedOut(_logger, timeout);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _stopping.Cancel();
        await Task.WhenAll(_loops).ConfigureAwait(false);
        lock (_gate)
        {
            foreach (var member in _members.Values)
            {
                member.StopSuspicion();
            }
        }

        await _transport.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Runs a periodic loop until stopped; a failed round is logged, never fatal.</summary>
    private async Task RunLoopAsync(string name, Func<TimeSpan> interval, Func<CancellationToken, Task> round, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var started = _time.GetTimestamp();
            var period = interval();
            try
            {
                await round(stopping).ConfigureAwait(false);
                var rest = period - _time.GetElapsedTime(started);
                await Task.Delay(rest > TimeSpan.Zero ? rest : TimeSpan.Zero, _time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.LoopFailed(_logger, name, e);
            }
        }
    }

    /// <summary>A token cancelled after <paramref name="timeout"/> on this node's clock, by the caller, or when the node stops.</summary>
    private sealed class Deadline : IDisposable
    {
        private readonly CancellationTokenSource _timeout;
        private readonly CancellationTokenSource _linked;

        public Deadline(Memberlist owner, TimeSpan timeout, CancellationToken cancellationToken)
        {
            _timeout = new CancellationTokenSource(timeout, owner._time);
            _linked = CancellationTokenSource.CreateLinkedTokenSource(_timeout.Token, cancellationToken, owner._stopping.Token);
        }

        public CancellationToken Token => _linked.Token;

        public void Dispose()
        {
            _linked.Dispose();
            _timeout.Dispose();
        }
    }
}
