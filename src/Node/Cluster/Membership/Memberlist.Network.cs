using System.Buffers;
using System.Net;
using Nanobox.Node.Security;

namespace Nanobox.Node.Cluster.Membership;

/// <summary>
/// The wire side: every datagram is opened by the protector and decoded before anything acts on it (drops
/// are counted, never thrown); outgoing datagrams carry as much queued gossip as fits; streams are secured
/// by <see cref="IStreamSecurity"/> and carry push/pull state exchanges and TCP probes.
/// </summary>
public sealed partial class Memberlist
{
    private readonly HashSet<string> _syncing = new(StringComparer.Ordinal);

    private int MaxPayload => _options.MaxDatagramSize - _protector.Overhead;

    void IGossipReceiver.OnDatagram(IPEndPoint from, ReadOnlySpan<byte> datagram)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        Counters.Received(datagram.Length);
        var messages = new List<GossipMessage>();
        var plaintext = ArrayPool<byte>.Shared.Rent(Math.Max(datagram.Length, 1));
        try
        {
            var verdict = Open(datagram, plaintext, out var written);
            if (verdict != DatagramVerdict.Accepted)
            {
                if (Counters.Drop(verdict, _time))
                {
                    Log.DroppedDatagram(_logger, from, verdict.ToString());
                }

                return;
            }

            var error = GossipCodec.TryDecodeDatagram(plaintext.AsSpan(0, written), messages);
            if (error != GossipDecodeError.None)
            {
                if (Counters.Drop(error, _time))
                {
                    Log.DroppedDatagram(_logger, from, error.ToString());
                }

                return;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(plaintext);
        }

        foreach (var message in messages)
        {
            Handle(message, from);
        }
    }

    async Task IGossipReceiver.OnStreamAsync(Stream stream, IPEndPoint from, CancellationToken cancellationToken)
    {
        using var deadline = new Deadline(this, _options.StreamTimeout, cancellationToken);
        try
        {
            var (secured, peerId) = await _streamSecurity.AcceptAsync(stream, deadline.Token).ConfigureAwait(false);
            await using (secured.ConfigureAwait(false))
            {
                var (request, error, size) = await GossipCodec.ReadFrameAsync(secured, _options.MaxStreamFrameSize, deadline.Token).ConfigureAwait(false);
                Counters.StreamBytes(0, size);
                GossipMessage? reply = request switch
                {
                    PingMessage ping when ping.TargetId == LocalId => new AckMessage(ping.Seq),
                    PushPullMessage => LocalState(),
                    _ => null,
                };
                if (reply is not null)
                {
                    Counters.StreamBytes(await GossipCodec.WriteFrameAsync(secured, reply, deadline.Token).ConfigureAwait(false), 0);
                }

                if (request is PushPullMessage state)
                {
                    Merge(state, peerId);
                }
                else if (request is null && Counters.Drop(error, _time))
                {
                    Log.DroppedFrame(_logger, from, error.ToString());
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or System.Security.Authentication.AuthenticationException or ObjectDisposedException)
        {
            Log.StreamFailed(_logger, from, e.Message);
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private DatagramVerdict Open(ReadOnlySpan<byte> datagram, Span<byte> plaintext, out int written)
    {
        try
        {
            return _protector.Open(datagram, plaintext, out written);
        }
        catch (Exception e) when (e is ArgumentException or System.Security.Cryptography.CryptographicException)
        {
            written = 0;
            return DatagramVerdict.Forged;
        }
    }

    private void Handle(GossipMessage message, IPEndPoint from)
    {
        switch (message)
        {
            case PingMessage ping when ping.TargetId == LocalId:
                SendWithGossip(from, new AckMessage(ping.Seq));
                SyncWithStranger(ping.SourceId, from);
                break;
            case IndirectPingMessage request:
                _ = RelayAsync(request, from);
                break;
            case AckMessage ack:
                OnAck(ack.Seq, nack: false);
                break;
            case NackMessage nack:
                OnAck(nack.Seq, nack: true);
                break;
            case SuspectMessage suspect:
                ApplySuspect(suspect);
                break;
            case AliveMessage alive:
                ApplyAlive(alive);
                break;
            case DeadMessage dead:
                ApplyDead(dead.Id, dead.Incarnation, dead.FromId, left: false);
                break;
            case LeaveMessage leave:
                ApplyDead(leave.Id, leave.Incarnation, leave.Id, left: true);
                break;
        }
    }

    /// <summary>Queues news about member <paramref name="key"/> for dissemination, replacing older news about it.</summary>
    private void Broadcast(string key, GossipMessage message, TaskCompletionSource? sent = null) =>
        _broadcasts.Enqueue(key, GossipCodec.Encode(message), sent);

    /// <summary>Sends <paramref name="message"/> (after <paramref name="before"/>) with as much pending gossip as fits in one datagram.</summary>
    private void SendWithGossip(IPEndPoint to, GossipMessage message, GossipMessage? before = null)
    {
        List<byte[]> parts = before is null ? [GossipCodec.Encode(message)] : [GossipCodec.Encode(before), GossipCodec.Encode(message)];
        var budget = MaxPayload - GossipCodec.CompoundHeader - parts.Sum(p => p.Length + GossipCodec.CompoundPartOverhead);
        parts.AddRange(_broadcasts.Take(GossipCodec.CompoundPartOverhead, budget));
        SendPayload(to, GossipCodec.Compound(parts));
    }

    private void SendPayload(IPEndPoint to, ReadOnlySpan<byte> payload)
    {
        var sealedLength = payload.Length + _protector.Overhead;
        var datagram = ArrayPool<byte>.Shared.Rent(sealedLength);
        try
        {
            var written = _protector.Seal(payload, datagram);
            _transport.SendDatagram(to, datagram.AsSpan(0, written));
            Counters.Sent(written);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(datagram);
        }
    }

    /// <summary>Sends pending gossip to a few random members each gossip interval (also to the recently dead, so they can refute).</summary>
    private Task GossipLoopAsync(CancellationToken stopping) =>
        RunLoopAsync("gossip", () => _options.GossipInterval, _ => GossipRound(), stopping);

    private Task GossipRound()
    {
        if (_broadcasts.Count == 0)
        {
            return Task.CompletedTask;
        }

        List<MemberRecord> targets;
        lock (_gate)
        {
            var deadCutoff = _time.GetUtcNow() - _options.GossipToTheDeadTime;
            targets = PickRandom(_options.GossipNodes, m => m.State is MemberState.Alive or MemberState.Suspect || (m.State == MemberState.Dead && m.Since > deadCutoff));
        }

        foreach (var target in targets)
        {
            var parts = _broadcasts.Take(GossipCodec.CompoundPartOverhead, MaxPayload - GossipCodec.CompoundHeader);
            if (parts.Count == 0)
            {
                break;
            }

            SendPayload(target.Meta.GossipEndpoint, GossipCodec.Compound(parts));
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Anti-entropy: full state with one random live member, and one random dead one (a healed partition
    /// or a restarted node reconnects this way). The interval grows with log2(n) beyond 32 members.
    /// </summary>
    private Task PushPullLoopAsync(CancellationToken stopping) =>
        RunLoopAsync("push/pull", PushPullInterval, PushPullRoundAsync, stopping);

    private TimeSpan PushPullInterval()
    {
        var members = MemberCount;
        return members <= 32 ? _options.PushPullInterval : _options.PushPullInterval * (Math.Ceiling(Math.Log2(members) - Math.Log2(32)) + 1);
    }

    private async Task PushPullRoundAsync(CancellationToken stopping)
    {
        List<MemberRecord> peers;
        lock (_gate)
        {
            peers = [.. PickRandom(1, m => m.State == MemberState.Alive), .. PickRandom(1, m => m.State == MemberState.Dead)];
        }

        foreach (var peer in peers)
        {
            await PushPullAsync(peer.Meta.GossipEndpoint, peer.Id, stopping).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A member that probes us but is unknown here missed gossip (its alive news ran out of retransmits
    /// before reaching us): exchange state with it now rather than at the next push/pull.
    /// </summary>
    private void SyncWithStranger(string id, IPEndPoint endpoint)
    {
        lock (_gate)
        {
            if (_members.ContainsKey(id) || !_syncing.Add(id))
            {
                return;
            }
        }

        _ = SyncAsync();

        async Task SyncAsync()
        {
            try
            {
                await PushPullAsync(endpoint, id, _stopping.Token).ConfigureAwait(false);
            }
            finally
            {
                lock (_gate)
                {
                    _syncing.Remove(id);
                }
            }
        }
    }

    /// <summary>Sends this node's full state and merges the peer's; false (logged) if the peer cannot be reached.</summary>
    private async Task<bool> PushPullAsync(IPEndPoint endpoint, string? expectedNodeId, CancellationToken cancellationToken)
    {
        try
        {
            var reply = await ExchangeAsync(endpoint, expectedNodeId, LocalState(), _options.StreamTimeout, cancellationToken).ConfigureAwait(false);
            if (reply is PushPullMessage state)
            {
                Merge(state, expectedNodeId ?? string.Empty);
                return true;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller gave up on this exchange (stopping, or a join that another seed already answered).
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException)
        {
            Log.StreamFailed(_logger, endpoint, e.Message);
        }

        return false;
    }

    /// <summary>One request and one reply over a secured stream; null when the reply is missing or malformed (counted).</summary>
    private async Task<GossipMessage?> ExchangeAsync(IPEndPoint endpoint, string? expectedNodeId, GossipMessage request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = new Deadline(this, timeout, cancellationToken);
        var transport = await _transport.ConnectAsync(endpoint, deadline.Token).ConfigureAwait(false);
        await using (transport.ConfigureAwait(false))
        {
            var (stream, _) = await _streamSecurity.ConnectAsync(transport, expectedNodeId, deadline.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var sent = await GossipCodec.WriteFrameAsync(stream, request, deadline.Token).ConfigureAwait(false);
                var (reply, error, size) = await GossipCodec.ReadFrameAsync(stream, _options.MaxStreamFrameSize, deadline.Token).ConfigureAwait(false);
                Counters.StreamBytes(sent, size);
                if (reply is null && Counters.Drop(error, _time))
                {
                    Log.DroppedFrame(_logger, endpoint, error.ToString());
                }

                return reply;
            }
        }
    }

    private PushPullMessage LocalState()
    {
        lock (_gate)
        {
            return new PushPullMessage([.. _members.Values.Select(m => new PushPullEntry(m.Id, m.Incarnation, m.State, m.Meta))]);
        }
    }

    /// <summary>
    /// Merges a peer's full state. A peer's "dead" becomes only a suspicion here, as in memberlist: the
    /// member may have come back, and this node's own probes will settle it.
    /// </summary>
    private void Merge(PushPullMessage state, string peerId)
    {
        foreach (var entry in state.Members)
        {
            switch (entry.State)
            {
                case MemberState.Alive:
                    ApplyAlive(new AliveMessage(entry.Id, entry.Incarnation, entry.Meta));
                    break;
                case MemberState.Left:
                    ApplyDead(entry.Id, entry.Incarnation, entry.Id, left: true);
                    break;
                default:
                    ApplySuspect(new SuspectMessage(entry.Id, entry.Incarnation, peerId));
                    break;
            }
        }
    }
}
