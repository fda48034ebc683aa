using Nanobox.Node.Security;

namespace Nanobox.Node.Tests.Security;

public sealed class ReplayWindowTests
{
    private const long Now = 1_000_000_000;

    [Fact]
    public void A_nonce_is_accepted_once_within_the_window()
    {
        var window = new ReplayWindow();

        Assert.Equal(DatagramVerdict.Accepted, window.Check(1, Now, Now));
        Assert.Equal(DatagramVerdict.Replayed, window.Check(1, Now, Now + 1000));
        Assert.Equal(DatagramVerdict.Accepted, window.Check(2, Now, Now));
    }

    [Fact]
    public void Nonces_are_forgotten_once_their_timestamps_are_out_of_the_window()
    {
        var window = new ReplayWindow(TimeSpan.FromSeconds(30));
        window.Check(1, Now, Now);

        window.Check(2, Now + 31_000, Now + 31_000);

        Assert.Equal(1, window.Count);
        Assert.Equal(DatagramVerdict.Stale, window.Check(1, Now, Now + 31_000));
    }

    [Fact]
    public void A_flood_is_bounded_and_what_was_forgotten_is_refused_as_stale_not_accepted()
    {
        var window = new ReplayWindow(capacity: 100);
        for (var nonce = 0; nonce < 1000; nonce++)
        {
            Assert.Equal(DatagramVerdict.Accepted, window.Check((UInt128)nonce, Now + nonce, Now));
        }

        Assert.Equal(100, window.Count);
        Assert.Equal(DatagramVerdict.Stale, window.Check(0, Now, Now));   // evicted: must not come back as new
        Assert.Equal(DatagramVerdict.Replayed, window.Check(999, Now + 999, Now));
        Assert.Equal(DatagramVerdict.Stale, window.Check(5000, Now + 500, Now)); // older than what was forgotten
        Assert.Equal(DatagramVerdict.Accepted, window.Check(5001, Now + 2000, Now));
    }
}
