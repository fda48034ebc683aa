using Nanobox.Node.Security;

namespace Nanobox.Node.Tests.Security;

public sealed class GossipKeyRingTests
{
    private readonly GossipKey _first = GossipKey.Generate();
    private readonly GossipKey _second = GossipKey.Generate();

    [Fact]
    public void Keys_are_32_bytes_and_their_ids_come_from_their_hash()
    {
        Assert.Equal(32, _first.Material.Length);
        Assert.Equal(_first.Id, new GossipKey((byte[])_first.Material.Clone()).Id);
        Assert.NotEqual(_first.Id, _second.Id);
        Assert.Throws<ArgumentException>(() => new GossipKey(new byte[16]));
    }

    [Fact]
    public void Install_use_remove_rotates_the_primary_like_memberlist()
    {
        var ring = new GossipKeyRing([_first]);

        ring.Install(_second);
        Assert.Same(_first, ring.Primary);
        Assert.Equal(2, ring.Keys.Count);

        ring.Use(_second);
        Assert.Same(_second, ring.Primary);

        ring.Remove(_first);
        Assert.Equal([_second], ring.Keys);
    }

    [Fact]
    public void Installing_twice_adds_one_key_and_removing_an_absent_key_does_nothing()
    {
        var ring = new GossipKeyRing([_first]);

        ring.Install(_second);
        ring.Install(new GossipKey((byte[])_second.Material.Clone()));
        ring.Remove(GossipKey.Generate());

        Assert.Equal(2, ring.Keys.Count);
    }

    [Fact]
    public void The_primary_cannot_be_removed_and_an_absent_key_cannot_be_used()
    {
        var ring = new GossipKeyRing([_first]);

        Assert.Throws<InvalidOperationException>(() => ring.Remove(_first));
        Assert.Throws<InvalidOperationException>(() => ring.Use(_second));
        Assert.Throws<ArgumentException>(() => new GossipKeyRing([]));
    }

    [Fact]
    public void A_ring_serializes_with_its_primary_first()
    {
        var ring = new GossipKeyRing([_first, _second]);
        ring.Use(_second);

        var copy = GossipKeyRing.Deserialize(ring.Serialize());

        Assert.Equal(_second.Material, copy.Primary.Material);
        Assert.Equal(_first.Material, copy.Keys[1].Material);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(32)]
    [InlineData(34)]
    public void Malformed_serialized_rings_are_refused(int length)
    {
        var bytes = new byte[length];
        if (length > 0)
        {
            bytes[0] = 1;
        }

        Assert.Throws<FormatException>(() => GossipKeyRing.Deserialize(bytes));
    }

    [Fact]
    public void Snapshots_taken_before_a_change_stay_as_they_were()
    {
        var ring = new GossipKeyRing([_first]);
        var before = ring.Keys;

        ring.Install(_second);

        Assert.Single(before);
    }
}
