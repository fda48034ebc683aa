namespace Nanobox.Node.Cluster.Membership;

/// <summary>
/// Merging what others say (SWIM's alive/suspect/dead with incarnation numbers): a claim about a member wins
/// only with a higher incarnation, or at the same incarnation when it is worse news. Claims about this node
/// are refuted by raising its own incarnation. All methods here run under the lock.
/// </summary>
public sealed partial class Memberlist
{
    private void ApplyAlive(AliveMessage alive)
    {
        lock (_gate)
        {
            if (alive.Id == LocalId)
            {
                var conflicting = alive.Incarnation > _self.Incarnation
                    || (alive.Incarnation == _self.Incarnation && !alive.Meta.Equals(_self.Meta));
                if (conflicting && !_leaving)
                {
                    Refute(alive.Incarnation);
                }

                return;
            }

            var now = _time.GetUtcNow();
            if (!_members.TryGetValue(alive.Id, out var member))
            {
                member = new MemberRecord(alive.Id, alive.Meta, alive.Incarnation, MemberState.Alive, now);
                _members.Add(alive.Id, member);
                AddToProbeOrder(alive.Id);
                Changed(member, MembershipEventKind.Joined, alive);
                return;
            }

            if (alive.Incarnation <= member.Incarnation)
            {
                return;
            }

            var previous = member.State;
            var metaChanged = !member.Meta.Equals(alive.Meta);
            member.Incarnation = alive.Incarnation;
            member.Meta = alive.Meta;
            member.SetState(MemberState.Alive, now);
            if (previous != MemberState.Alive)
            {
                Changed(member, MembershipEventKind.AliveAgain, alive);
            }
            else if (metaChanged)
            {
                Changed(member, MembershipEventKind.Updated, alive);
            }
            else
            {
                Broadcast(alive.Id, alive);
            }
        }
    }

    private void ApplySuspect(SuspectMessage suspect)
    {
        lock (_gate)
        {
            if (!_members.TryGetValue(suspect.Id, out var member) || Stale(member, suspect.Incarnation))
            {
                return;
            }

            if (member == _self)
            {
                if (!_leaving)
                {
                    Refute(suspect.Incarnation);
                }

                return;
            }

            if (member.State == MemberState.Suspect)
            {
                // Lifeguard: an independent accuser shortens the timeout; pass the confirmation on so others count it too.
                if (member.Suspicion?.Confirm(suspect.FromId) == true)
                {
                    Broadcast(suspect.Id, suspect);
                }

                return;
            }

            if (member.State != MemberState.Alive)
            {
                return;
            }

            member.Incarnation = suspect.Incarnation;
            var (min, max, expected) = SuspicionBounds();
            var id = member.Id;
            var incarnation = member.Incarnation;
            member.Suspect(new Suspicion(suspect.FromId, expected, min, max, _time, () => SuspicionExpired(id, incarnation)), _time.GetUtcNow());
            Changed(member, MembershipEventKind.Suspect, suspect);
        }
    }

    /// <summary>Applies a dead verdict, or a graceful leave when <paramref name="left"/>.</summary>
    private void ApplyDead(string id, uint incarnation, string fromId, bool left)
    {
        lock (_gate)
        {
            if (!_members.TryGetValue(id, out var member) || Stale(member, incarnation))
            {
                return;
            }

            if (member == _self)
            {
                if (!_leaving)
                {
                    Refute(incarnation);
                }

                return;
            }

            // A leave may still upgrade "dead" (it says the departure was deliberate); nothing else changes a verdict.
            if (member.State == MemberState.Left || (member.State == MemberState.Dead && !left))
            {
                return;
            }

            member.Incarnation = incarnation;
            member.SetState(left ? MemberState.Left : MemberState.Dead, _time.GetUtcNow());
            Changed(
                member,
                left ? MembershipEventKind.Left : MembershipEventKind.Failed,
                left ? new LeaveMessage(id, incarnation) : new DeadMessage(id, incarnation, fromId));
        }
    }

    /// <summary>
    /// True when a suspect or dead claim is older than what this node knows. What it knows is gossiped
    /// again: the claimant missed it (a refutation, a leave) and would otherwise hold on to a stale verdict
    /// until the next push/pull.
    /// </summary>
    private bool Stale(MemberRecord member, uint incarnation)
    {
        if (incarnation >= member.Incarnation)
        {
            return false;
        }

        Broadcast(member.Id, member.State switch
        {
            MemberState.Alive => new AliveMessage(member.Id, member.Incarnation, member.Meta),
            MemberState.Suspect => new SuspectMessage(member.Id, member.Incarnation, LocalId),
            MemberState.Dead => new DeadMessage(member.Id, member.Incarnation, LocalId),
            _ => new LeaveMessage(member.Id, member.Incarnation),
        });
        return true;
    }

    private void SuspicionExpired(string id, uint incarnation)
    {
        lock (_gate)
        {
            if (_members.TryGetValue(id, out var member) && member.State == MemberState.Suspect && member.Incarnation == incarnation)
            {
                ApplyDead(id, incarnation, LocalId, left: false);
            }
        }
    }

    /// <summary>
    /// Lifeguard bounds for a new suspicion: min = multiplier × max(1, log10 n) × probe interval (time for the
    /// news to reach the accused and its refutation to return), max = min × max multiplier, and the number of
    /// confirmations that bring it down to min, at most everyone but the accused and the accuser.
    /// </summary>
    private (TimeSpan Min, TimeSpan Max, int Expected) SuspicionBounds()
    {
        var known = _members.Count;
        var reachable = _members.Values.Count(m => m.State is MemberState.Alive or MemberState.Suspect);
        var min = _options.ProbeInterval * (_options.SuspicionMultiplier * Math.Max(1, Math.Log10(known)));
        return (min, min * _options.SuspicionMaxTimeoutMultiplier, Math.Clamp(reachable - 2, 0, _options.SuspicionConfirmations));
    }

    /// <summary>Outranks an accusation (or a stale claim to this node's id) with a higher incarnation.</summary>
    private void Refute(uint accusedIncarnation)
    {
        _self.Incarnation = Math.Max(_self.Incarnation, accusedIncarnation) + 1;
        _awareness.Apply(1);
        BroadcastSelf();
        Log.Refuted(_logger, _self.Incarnation);
    }

    private void BroadcastSelf() => Broadcast(LocalId, new AliveMessage(LocalId, _self.Incarnation, _self.Meta));

    /// <summary>Spreads the news that changed <paramref name="member"/> and tells the process.</summary>
    private void Changed(MemberRecord member, MembershipEventKind kind, GossipMessage news)
    {
        Broadcast(member.Id, news);
        var snapshot = member.Snapshot();
        Log.MemberChanged(_logger, snapshot.Name, snapshot.Id, snapshot.GossipEndpoint, kind, snapshot.Incarnation);
        Events.Publish(kind, snapshot);
    }

    /// <summary>Forgets dead and left members after <see cref="MembershipOptions.ReapAfter"/>.</summary>
    private void Reap()
    {
        var cutoff = _time.GetUtcNow() - _options.ReapAfter;
        foreach (var member in _members.Values.Where(m => m.State is MemberState.Dead or MemberState.Left && m.Since < cutoff).ToList())
        {
            _members.Remove(member.Id);
            _probeOrder.Remove(member.Id);
        }
    }
}
