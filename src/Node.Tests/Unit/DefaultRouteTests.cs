using Nanobox.Node.Host;

namespace Nanobox.Node.Tests.Unit;

public sealed class DefaultRouteTests
{
    private const string Header = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";

    [Fact]
    public void Finds_the_lowest_metric_ipv4_default_route()
    {
        var table = Header
            + "eth1\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"
            + "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\tFFFFFF00\t0\t0\t0\n"
            + "eth2\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";

        Assert.Equal("eth2", DefaultRoute.InterfaceFromIPv4Table(table));
    }

    [Fact]
    public void Ignores_routes_that_are_down_and_tables_without_a_default()
    {
        Assert.Null(DefaultRoute.InterfaceFromIPv4Table(Header + "eth0\t00000000\t0101A8C0\t0002\t0\t0\t0\t00000000\t0\t0\t0\n"));
        Assert.Null(DefaultRoute.InterfaceFromIPv4Table(Header + "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\tFFFFFF00\t0\t0\t0\n"));
        Assert.Null(DefaultRoute.InterfaceFromIPv4Table(""));
    }

    [Fact]
    public void Finds_the_ipv6_default_route_but_not_the_loopback_reject_route()
    {
        var table =
            "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n"
            + "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"
            + "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     eth3\n";

        Assert.Equal("eth3", DefaultRoute.InterfaceFromIPv6Table(table));
        Assert.Null(DefaultRoute.InterfaceFromIPv6Table(table.Split('\n')[0]));
    }
}
