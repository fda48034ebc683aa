using System.Threading.Channels;

namespace Nanobox.Node.Cluster.Membership;

public enum MembershipEventKind
{
    /// <summary>A member not known before (or reaped and back).</summary>
    Joined,

    /// <summary>An alive member announced new metadata (address, ports, labels...).</summary>
    Updated,

    Suspect,

    /// <summary>Declared dead: its suspicion timed out unrefuted.</summary>
    Failed,

    /// <summary>Left gracefully.</summary>
    Left,

    /// <summary>A suspect, failed or departed member is alive again (refuted, healed or restarted).</summary>
    AliveAgain,
}

/// <param name="Member">The member as it is after the change.</param>
public sealed record MembershipEvent(MembershipEventKind Kind, Member Member);

/// <summary>
/// Publishes membership changes inside the process (firewall, overlay). Each subscriber gets its own
/// unbounded channel, in the order the changes were applied; a slow subscriber never blocks gossip.
/// </summary>
public sealed class MembershipEvents
{
    // A leaf lock for (un)subscribing; publishing, which the memberlist does under its own lock, takes none.
    private readonly Lock _gate = new();
    private Channel<MembershipEvent>[] _subscribers = [];

    /// <summary>Subscribes to changes from now on; dispose the subscription to stop (its reader then completes).</summary>
    public Subscription Subscribe()
    {
        var channel = Channel.CreateUnbounded<MembershipEvent>(new UnboundedChannelOptions { SingleReader = true });
        lock (_gate)
        {
            _subscribers = [.. _subscribers, channel];
        }

        return new Subscription(this, channel);
    }

    internal void Publish(MembershipEventKind kind, Member member)
    {
        var message = new MembershipEvent(kind, member);
        foreach (var channel in Volatile.Read(ref _subscribers))
        {
            channel.Writer.TryWrite(message);
        }
    }

    private void Unsubscribe(Channel<MembershipEvent> channel)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers.Where(c => c != channel)];
        }

        channel.Writer.TryComplete();
    }

    public sealed class Subscription(MembershipEvents owner, Channel<MembershipEvent> channel) : IDisposable
    {
        public ChannelReader<MembershipEvent> Reader => channel.Reader;

        public void Dispose() => owner.Unsubscribe(channel);
    }
}
