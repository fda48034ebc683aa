namespace Nanobox.Node.Tests.Labs;

using Nanobox.Lab;

/// <summary>Port lists travel to the scanner as ranges on its command line; a full list would not fit in one argument.</summary>
[Trait("Category", "Lab")]
public sealed class PortListTests
{
    [Theory]
    [InlineData("22", new[] { 22 })]
    [InlineData("80,22,22", new[] { 22, 80 })]
    [InlineData(" 1-3 , 5 ", new[] { 1, 2, 3, 5 })]
    public void Parse_reads_lists_and_ranges_sorted_and_without_duplicates(string spec, int[] expected) =>
        Assert.Equal(expected, PortList.Parse(spec));

    [Fact]
    public void All_is_every_port_and_formats_back_as_one_range()
    {
        var all = PortList.Parse("all");
        Assert.Equal(65535, all.Count);
        Assert.Equal("1-65535", PortList.Format(all));
        Assert.Equal("1-3,5,7946", PortList.Format([7946, 5, 3, 2, 1]));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("65536")]
    [InlineData("10-5")]
    [InlineData("ssh")]
    public void Parse_refuses_what_is_not_a_port(string spec) =>
        Assert.Throws<FormatException>(() => PortList.Parse(spec));
}
