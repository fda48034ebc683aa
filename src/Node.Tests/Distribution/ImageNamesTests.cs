using Nanobox.Node.Runtime.Distribution;

namespace Nanobox.Node.Tests.Distribution;

public sealed class ImageNamesTests
{
    private const string Id = "sha256:2ab6b1ec9b9d3c2b6bb1d5e8a5a2d0e0b3b7b0ec16cb5d6ce9f3d7e1a2b3c4d5";

    [Theory]
    [InlineData("busybox")]
    [InlineData("nanobox-lab/busybox:latest")]
    [InlineData("registry.example.com:5000/team/app_x.y:v1.2-rc")]
    [InlineData("localhost/a__b--c:TAG")]
    [InlineData("busybox@" + Id)]
    [InlineData("busybox:1.36@" + Id)]
    [InlineData(Id)]
    public void References_the_engine_takes_are_accepted(string reference) => Assert.Null(ImageNames.Refusal(reference));

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("Busybox")]
    [InlineData("../../etc/passwd")]
    [InlineData("busybox:latest/../x")]
    [InlineData("busybox?x=1")]
    [InlineData("busybox:latest\n")]
    [InlineData("busybox@sha256:short")]
    [InlineData(Id + "\n")]
    [InlineData("busybox:" + "a" + "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")]
    public void Anything_else_is_refused_with_the_forms_to_use(string? reference)
    {
        var refusal = ImageNames.Refusal(reference);

        Assert.NotNull(refusal);
        Assert.False(ImageNames.IsPin(reference));
    }

    [Fact]
    public void A_very_long_reference_is_refused_by_its_length()
    {
        Assert.Contains("too long", ImageNames.Refusal(new string('a', 600)));
    }

    [Theory]
    [InlineData(Id, true)]
    [InlineData("busybox@" + Id, true)]
    [InlineData("busybox:latest", false)]
    [InlineData("busybox", false)]
    [InlineData("sha256:abc", false)] // the repository "sha256", tag "abc"
    public void Pins_are_ids_and_digest_references(string reference, bool pin) => Assert.Equal(pin, ImageNames.IsPin(reference));

    [Theory]
    [InlineData("nanobox.shop.web.main.0", true)]
    [InlineData("a", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData(".hidden", false)]
    [InlineData("a/b", false)]
    [InlineData("a b", false)]
    public void Container_names_follow_the_engine_rule(string? name, bool valid) => Assert.Equal(valid, ImageNames.ContainerRefusal(name) is null);

    [Fact]
    public void A_container_name_refusal_quotes_at_most_64_characters()
    {
        var refusal = ImageNames.ContainerRefusal(new string('x', 300));

        Assert.NotNull(refusal);
        Assert.True(refusal.Length < 160, refusal);
    }
}
