using System.Collections.Immutable;
using System.Net;
using Nanobox.Node.Firewall;

namespace Nanobox.Node.Tests.Firewall;

internal static class FirewallTestData
{
    public static FirewallDesign Design(params FirewallRule[] clusterRules) => new(
        [22],
        [],
        7948,
        [],
        20,
        [7946, 7947, 7949],
        [7946],
        4789,
        [.. clusterRules],
        []);

    public static PeerAddresses Peers(params string[] addresses) => new(addresses.Select(IPAddress.Parse));

    public static ImmutableArray<string> Networks(params string[] networks) => [.. networks];
}
