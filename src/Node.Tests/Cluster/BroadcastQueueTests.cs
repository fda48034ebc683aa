using Nanobox.Node.Cluster.Membership;

namespace Nanobox.Node.Tests.Cluster;

public sealed class BroadcastQueueTests
{
    [Theory]
    [InlineData(4, 1, 4)]
    [InlineData(4, 5, 4)]
    [InlineData(4, 9, 4)]
    [InlineData(4, 10, 8)]
    [InlineData(4, 100, 12)]
    public void The_retransmit_limit_grows_with_log_n(int multiplier, int members, int limit) =>
        Assert.Equal(limit, BroadcastQueue.RetransmitLimit(multiplier, members));

    [Fact]
    public void Each_message_is_sent_the_limit_times_then_dropped_and_its_waiter_released()
    {
        var queue = new BroadcastQueue(retransmitMultiplier: 2, () => 5);
        var sent = new TaskCompletionSource();
        queue.Enqueue("a", [1, 2, 3], sent);

        Assert.Single(queue.Take(2, 100));
        Assert.False(sent.Task.IsCompleted);
        Assert.Single(queue.Take(2, 100));

        Assert.True(sent.Task.IsCompleted);
        Assert.Empty(queue.Take(2, 100));
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void Newer_news_about_a_member_replaces_the_older()
    {
        var queue = new BroadcastQueue(4, () => 5);
        var older = new TaskCompletionSource();
        queue.Enqueue("a", [1], older);
        queue.Enqueue("a", [2]);

        Assert.True(older.Task.IsCompleted);
        Assert.Equal([2], Assert.Single(queue.Take(0, 100)));
    }

    [Fact]
    public void The_least_sent_then_newest_go_first_within_the_byte_budget()
    {
        var queue = new BroadcastQueue(4, () => 5);
        queue.Enqueue("old", [1, 1, 1]);
        Assert.Single(queue.Take(2, 100));
        queue.Enqueue("new", [2, 2, 2]);
        queue.Enqueue("newer", [3, 3, 3]);
        queue.Enqueue("big", new byte[200]);

        var taken = queue.Take(2, 10);

        Assert.Equal([[3, 3, 3], [2, 2, 2]], taken);
        Assert.Equal([[3, 3, 3]], queue.Take(2, 5));
    }

    [Fact]
    public void Take_asks_for_the_member_count_without_holding_its_lock()
    {
        // The memberlist answers the count under its own lock and enqueues while holding it: if Take asked
        // while holding the queue's lock, a gossip round and a suspicion would deadlock each other (seen in the lab).
        BroadcastQueue queue = null!;
        var enqueuedMeanwhile = false;
        queue = new BroadcastQueue(4, () =>
        {
            enqueuedMeanwhile = Task.Run(() => queue.Enqueue("b", [2])).Wait(TimeSpan.FromSeconds(2));
            return 5;
        });
        queue.Enqueue("a", [1]);

        queue.Take(0, 100);

        Assert.True(enqueuedMeanwhile, "another thread could not enqueue while Take asked for the member count");
        Assert.Equal(2, queue.Count);
    }
}
