using Nanobox.Node.Cluster;
using Nanobox.Node.Cluster.Join;

namespace Nanobox.Node.Tests.Join;

public sealed class JoinAddressTests
{
    [Theory]
    [InlineData("10.0.0.2", "10.0.0.2", ClusterPorts.Join)]
    [InlineData("10.0.0.2:9000", "10.0.0.2", 9000)]
    [InlineData("node-1.example.org", "node-1.example.org", ClusterPorts.Join)]
    [InlineData("node-1:9000", "node-1", 9000)]
    [InlineData("fd00::2", "fd00::2", ClusterPorts.Join)]
    [InlineData("[fd00::2]", "fd00::2", ClusterPorts.Join)]
    [InlineData("[fd00::2]:9000", "fd00::2", 9000)]
    [InlineData(" 10.0.0.2 ", "10.0.0.2", ClusterPorts.Join)]
    public void Reads_every_accepted_form(string text, string host, int port) =>
        Assert.Equal(new JoinAddress(host, port), JoinAddress.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("10.0.0.2:")]
    [InlineData("10.0.0.2:0")]
    [InlineData("10.0.0.2:70000")]
    [InlineData("10.0.0.2:+80")]
    [InlineData("[fd00::2")]
    [InlineData("[fd00::2]9000")]
    [InlineData("[node-1]:9000")]
    [InlineData("no such host")]
    public void Refuses_anything_else_and_says_which_forms_work(string text)
    {
        var error = Assert.Throws<FormatException>(() => JoinAddress.Parse(text));

        Assert.Contains("[IPv6]:PORT", error.Message);
    }

    [Theory]
    [InlineData("10.0.0.2", "10.0.0.2:7948")]
    [InlineData("fd00::2", "[fd00::2]:7948")]
    public void Prints_as_it_can_be_typed_back(string text, string printed) => Assert.Equal(printed, JoinAddress.Parse(text).ToString());
}
