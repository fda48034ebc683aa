using System.Net;

namespace Nanobox.Lab;

/// <summary>
/// The lab's wiring: a bridge br0 in a switch namespace of its own (never the root namespace) and one
/// veth per host, created from inside the host namespace with its peer sent straight to the switch, so
/// no link ever exists in the root namespace, even for a moment.
/// </summary>
internal static class LabNetwork
{
    public const string HostInterface = "eth0";
    public const string Bridge = "br0";

    public static IPAddress Address(int index) => IPAddress.Parse($"198.18.0.{index}");
    public static IPAddress Address6(int index) => IPAddress.Parse($"fd00:6e62::{index:x}");

    /// <summary>Fixed, locally administered MACs (02:6e:62 = "nb"): readable in captures, matchable in fault rules.</summary>
    public static string Mac(int index) => $"02:6e:62:00:00:{index:x2}";

    public static async Task CreateAsync(LabPaths paths, IReadOnlyList<string> hostNames, CancellationToken ct)
    {
        var sw = paths.SwitchNamespace;
        await Netns.AddAsync(sw, ct);
        // No snooping: IPv6 neighbour discovery must flood from the first packet, not after the bridge learns groups.
        await Netns.IpBatchAsync(sw,
        [
            "link set lo up",
            $"link add {Bridge} type bridge stp_state 0 mcast_snooping 0",
            $"link set {Bridge} up",
        ], ct);

        for (var i = 1; i <= hostNames.Count; i++)
        {
            var name = hostNames[i - 1];
            var ns = paths.Namespace(name);
            await Netns.AddAsync(ns, ct);
            await Netns.IpBatchAsync(ns,
            [
                $"link add {HostInterface} address {Mac(i)} type veth peer name {name} netns {sw}",
                "link set lo up",
                $"addr add {Address(i)}/24 dev {HostInterface}",
                // nodad: the address is usable at once instead of after duplicate address detection.
                $"addr add {Address6(i)}/64 dev {HostInterface} nodad",
                $"link set {HostInterface} up",
                // A default route, so the agent's "advertise the default route's interface" logic has one to find.
                $"route add default dev {HostInterface}",
                $"route add ::/0 dev {HostInterface}",
            ], ct);
            await Netns.IpBatchAsync(sw, [$"link set {name} master {Bridge}", $"link set {name} up"], ct);
            // No ICMP error rate limit: a real host answers a burst of 6 closed UDP ports, then one a second per
            // peer, and a port scan would read the rest as open|filtered. Only this namespace's sysctls change.
            (await Netns.RunAsync(ns, Tools.Sysctl, ["-q", "-e", "-w", "net.ipv4.icmp_ratemask=0", "net.ipv6.icmp.ratemask=", "net.ipv6.icmp.ratelimit=0"],
                null, ct)).EnsureSuccess();
        }
    }
}
