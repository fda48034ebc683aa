using Nanobox.Node.Cluster.Membership;

namespace Nanobox.Node.Tests.Cluster;

public sealed class SuspicionTests
{
    private static readonly TimeSpan Min = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(3);

    [Theory]
    [InlineData(0, 3, 3000)]
    [InlineData(1, 3, 2000)]
    [InlineData(2, 3, 1415)]
    [InlineData(3, 3, 1000)]
    [InlineData(9, 3, 1000)]
    [InlineData(0, 0, 1000)]
    public void The_timeout_shrinks_logarithmically_from_max_to_min(int confirmations, int expected, int milliseconds)
    {
        var timeout = Suspicion.Timeout(confirmations, expected, Min, Max);

        Assert.Equal(milliseconds, timeout.TotalMilliseconds, tolerance: 1);
    }

    [Fact]
    public void Without_confirmations_the_suspicion_expires_at_max()
    {
        var clock = new VirtualClock();
        var expired = false;
        using var suspicion = new Suspicion("accuser", 3, Min, Max, clock, () => expired = true);

        clock.Advance(Max - TimeSpan.FromMilliseconds(1));
        Assert.False(expired);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(expired);
    }

    [Fact]
    public void Independent_confirmations_bring_the_expiry_forward_and_repeats_do_not_count()
    {
        var clock = new VirtualClock();
        TimeSpan? expiredAt = null;
        using var suspicion = new Suspicion("accuser", 3, Min, Max, clock, () => expiredAt = clock.Elapsed);

        clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.False(suspicion.Confirm("accuser"));
        Assert.True(suspicion.Confirm("b"));
        Assert.False(suspicion.Confirm("b"));
        Assert.True(suspicion.Confirm("c"));
        Assert.True(suspicion.Confirm("d"));
        Assert.False(suspicion.Confirm("e"));
        Assert.Equal(3, suspicion.Confirmations);
        clock.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(Min, expiredAt);
    }

    [Fact]
    public void A_confirmation_past_the_new_timeout_expires_at_once()
    {
        var clock = new VirtualClock();
        var expired = false;
        using var suspicion = new Suspicion("accuser", 1, Min, Max, clock, () => expired = true);

        clock.Advance(TimeSpan.FromMilliseconds(1500));
        suspicion.Confirm("b");
        clock.Advance(TimeSpan.Zero);

        Assert.True(expired);
    }

    [Fact]
    public void Awareness_stretches_timeouts_within_its_bounds()
    {
        var awareness = new Awareness(max: 8);
        var probe = TimeSpan.FromMilliseconds(500);

        awareness.Apply(-1);
        Assert.Equal(probe, awareness.Scale(probe));
        awareness.Apply(3);
        Assert.Equal(probe * 4, awareness.Scale(probe));
        awareness.Apply(100);
        Assert.Equal(7, awareness.Score);
        awareness.Apply(-100);
        Assert.Equal(0, awareness.Score);
    }
}
