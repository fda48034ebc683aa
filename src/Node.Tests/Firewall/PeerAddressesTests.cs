using System.Net;
using Nanobox.Node.Firewall;
using static Nanobox.Node.Tests.Firewall.FirewallTestData;

namespace Nanobox.Node.Tests.Firewall;

public sealed class PeerAddressesTests
{
    [Fact]
    public void Addresses_are_split_by_family_sorted_by_bytes_each_once_and_mapped_ones_left_out()
    {
        var peers = Peers("198.18.1.0", "fd00::2", "10.0.0.9", "198.18.0.255", "10.0.0.9", "::ffff:10.0.0.1", "fd00::1", "fd00::2");

        Assert.Equal(["10.0.0.9", "198.18.0.255", "198.18.1.0"], peers.V4.Select(a => a.ToString()));
        Assert.Equal(["fd00::1", "fd00::2"], peers.V6.Select(a => a.ToString()));
        Assert.Equal(5, peers.Count);
    }

    [Fact]
    public void Equal_when_they_hold_the_same_addresses_in_whatever_order_they_came()
    {
        Assert.Equal(Peers("198.18.0.3", "fd00::1", "198.18.0.2"), Peers("fd00::1", "198.18.0.2", "198.18.0.3", "198.18.0.2"));
        Assert.NotEqual(Peers("198.18.0.2", "198.18.0.3"), Peers("198.18.0.2", "198.18.0.4"));
        Assert.NotEqual(Peers("198.18.0.2"), Peers("198.18.0.2", "fd00::2"));
    }

    [Fact]
    public void A_change_names_what_is_added_and_removed_at_either_end_and_in_between_in_both_families()
    {
        var from = Peers("10.0.0.1", "198.18.0.2", "198.18.0.3", "198.18.0.5", "fd00::1", "fd00::3");
        var to = Peers("198.18.0.1", "198.18.0.3", "198.18.0.4", "198.18.0.5", "203.0.113.7", "fd00::2", "fd00::3", "fd00::9");

        var (added, removed) = from.ChangeTo(to);

        Assert.Equal(Peers("198.18.0.1", "198.18.0.4", "203.0.113.7", "fd00::2", "fd00::9"), added);
        Assert.Equal(Peers("10.0.0.1", "198.18.0.2", "fd00::1"), removed);
    }

    [Fact]
    public void A_change_from_or_to_nothing_is_everything_and_between_equals_is_nothing()
    {
        var peers = Peers("198.18.0.2", "fd00::2");

        Assert.Equal((peers, PeerAddresses.Empty), PeerAddresses.Empty.ChangeTo(peers));
        Assert.Equal((PeerAddresses.Empty, peers), peers.ChangeTo(PeerAddresses.Empty));
        Assert.Equal((PeerAddresses.Empty, PeerAddresses.Empty), peers.ChangeTo(Peers("fd00::2", "198.18.0.2")));
    }

    [Fact]
    public void One_peer_more_among_ten_thousand_is_found_as_the_only_change()
    {
        var many = Enumerable.Range(0, 10_000).Select(i => new IPAddress(new byte[] { 198, 18, (byte)(i >> 8), (byte)i })).ToList();
        var extra = IPAddress.Parse("198.18.200.1");

        var (added, removed) = new PeerAddresses(many).ChangeTo(new PeerAddresses(many.Append(extra)));

        Assert.Equal([extra], added.All);
        Assert.Equal(0, removed.Count);
    }
}
