using System.Net;

namespace Nanobox.Node.Cluster.Membership;

/// <summary>
/// SWIM failure detection with Lifeguard: each interval one member is pinged; without an ack within the
/// (health-scaled) probe timeout, k relays ping it for us and a TCP probe runs alongside; without any ack
/// by the end of the interval it becomes suspect. Relays that also hear nothing send nacks: missing nacks
/// mean this node's own network is the problem, and raise its health score instead.
/// </summary>
public sealed partial class Memberlist
{
    private readonly List<string> _probeOrder = [];
    private readonly Dictionary<uint, AckWaiter> _ackWaiters = [];
    private int _probeIndex;
    private uint _sequence;

    /// <summary>
    /// A relay's wait before it nacks: the part of the prober's interval left after the prober's own timeout,
    /// less a margin, so the nack arrives before the prober gives up and counts missing nacks against itself.
    /// </summary>
    private TimeSpan RelayTimeout => (_options.ProbeInterval - _options.ProbeTimeout) * 0.8;

    private Task ProbeLoopAsync(CancellationToken stopping) =>
        RunLoopAsync("probe", () => _awareness.Scale(_options.ProbeInterval), ProbeNextAsync, stopping);

    private async Task ProbeNextAsync(CancellationToken stopping)
    {
        var started = _time.GetTimestamp();
        var interval = _awareness.Scale(_options.ProbeInterval);
        MemberRecord? target;
        uint incarnation;
        bool suspect;
        IPEndPoint endpoint;
        (uint Seq, AckWaiter Waiter) probe;
        List<IPEndPoint> relays;
        lock (_gate)
        {
            target = NextProbeTarget();
            if (target is null)
            {
                return;
            }

            incarnation = target.Incarnation;
            suspect = target.State == MemberState.Suspect;
            endpoint = target.Meta.GossipEndpoint;
            probe = ExpectAck();
            relays = [.. PickRandom(_options.IndirectChecks, m => m != target && m.State == MemberState.Alive).Select(m => m.Meta.GossipEndpoint)];
        }

        try
        {
            // A suspect hears the accusation ahead of the probe, so its ack carries the refutation.
            SendWithGossip(endpoint, new PingMessage(probe.Seq, target.Id, LocalId), suspect ? new SuspectMessage(target.Id, incarnation, LocalId) : null);
            if (await probe.Waiter.WaitAsync(_awareness.Scale(_options.ProbeTimeout), _time, stopping).ConfigureAwait(false))
            {
                _awareness.Apply(-1);
                return;
            }

            foreach (var relay in relays)
            {
                SendWithGossip(relay, new IndirectPingMessage(probe.Seq, target.Id, endpoint, LocalId));
            }

            var rest = interval - _time.GetElapsedTime(started);
            if (_options.TcpFallbackProbe)
            {
                _ = TcpProbeAsync(endpoint, target.Id, probe, rest, stopping);
            }

            if (await probe.Waiter.WaitAsync(rest, _time, stopping).ConfigureAwait(false))
            {
                return;
            }

            _awareness.Apply(relays.Count == 0 ? 1 : Math.Max(0, relays.Count - probe.Waiter.Nacks));
            ApplySuspect(new SuspectMessage(target.Id, incarnation, LocalId));
        }
        finally
        {
            ForgetAck(probe.Seq);
        }
    }

    /// <summary>Probes over a secured stream; datagram loss cannot fail it, a dead or unreachable member can.</summary>
    private async Task TcpProbeAsync(IPEndPoint endpoint, string targetId, (uint Seq, AckWaiter Waiter) probe, TimeSpan timeout, CancellationToken stopping)
    {
        try
        {
            var reply = await ExchangeAsync(endpoint, targetId, new PingMessage(probe.Seq, targetId, LocalId), timeout, stopping).ConfigureAwait(false);
            if (reply is AckMessage ack && ack.Seq == probe.Seq)
            {
                probe.Waiter.Ack();
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException)
        {
            Log.StreamFailed(_logger, endpoint, e.Message);
        }
    }

    /// <summary>Probes <paramref name="request"/>'s target for another member and answers it with an ack or a nack.</summary>
    private async Task RelayAsync(IndirectPingMessage request, IPEndPoint requester)
    {
        (uint Seq, AckWaiter Waiter) probe;
        lock (_gate)
        {
            probe = ExpectAck();
        }

        try
        {
            SendWithGossip(request.Target, new PingMessage(probe.Seq, request.TargetId, LocalId));
            var acked = await probe.Waiter.WaitAsync(RelayTimeout, _time, _stopping.Token).ConfigureAwait(false);
            SendWithGossip(requester, acked ? new AckMessage(request.Seq) : new NackMessage(request.Seq));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        finally
        {
            ForgetAck(probe.Seq);
        }
    }

    private void OnAck(uint seq, bool nack)
    {
        AckWaiter? waiter;
        lock (_gate)
        {
            _ackWaiters.TryGetValue(seq, out waiter);
        }

        // Outside the lock: completing the wait may run the prober's continuation inline.
        if (nack)
        {
            waiter?.Nack();
        }
        else
        {
            waiter?.Ack();
        }
    }

    private (uint Seq, AckWaiter Waiter) ExpectAck()
    {
        var seq = ++_sequence;
        var waiter = new AckWaiter();
        _ackWaiters[seq] = waiter;
        return (seq, waiter);
    }

    private void ForgetAck(uint seq)
    {
        lock (_gate)
        {
            _ackWaiters.Remove(seq);
        }
    }

    /// <summary>Round-robin over a shuffled list, reshuffled (and reaped) at each wrap: every member is probed once per round.</summary>
    private MemberRecord? NextProbeTarget()
    {
        for (var checkedCount = 0; checkedCount < _probeOrder.Count; checkedCount++)
        {
            if (_probeIndex >= _probeOrder.Count)
            {
                _probeIndex = 0;
                Reap();
                _random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_probeOrder));
                if (_probeOrder.Count == 0)
                {
                    return null;
                }
            }

            if (_members.TryGetValue(_probeOrder[_probeIndex++], out var member) && member.State is MemberState.Alive or MemberState.Suspect)
            {
                return member;
            }
        }

        return null;
    }

    /// <summary>A newcomer goes to a random place in the order, so the members do not all probe it at once.</summary>
    private void AddToProbeOrder(string id)
    {
        var index = _random.Next(_probeOrder.Count + 1);
        _probeOrder.Insert(index, id);
        if (index < _probeIndex)
        {
            _probeIndex++;
        }
    }

    /// <summary>Up to <paramref name="count"/> distinct random members other than this node.</summary>
    private List<MemberRecord> PickRandom(int count, Func<MemberRecord, bool> eligible)
    {
        var candidates = _members.Values.Where(m => m != _self && eligible(m)).ToArray();
        _random.Shuffle(candidates);
        return [.. candidates.Take(count)];
    }

    /// <summary>Acks (and nacks) expected for one probe sequence number.</summary>
    private sealed class AckWaiter
    {
        private readonly TaskCompletionSource _acked = new();
        private int _nacks;

        public int Nacks => Volatile.Read(ref _nacks);

        public void Ack() => _acked.TrySetResult();

        public void Nack() => Interlocked.Increment(ref _nacks);

        /// <summary>True if acked within <paramref name="timeout"/>.</summary>
        public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
        {
            if (_acked.Task.IsCompleted || timeout <= TimeSpan.Zero)
            {
                return _acked.Task.IsCompleted;
            }

            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(timeout, time, cancel.Token);
            await Task.WhenAny(_acked.Task, delay).ConfigureAwait(false);
            cancel.Cancel();
            cancellationToken.ThrowIfCancellationRequested();
            return _acked.Task.IsCompleted;
        }
    }
}
