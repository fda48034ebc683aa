using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Nanobox.Node.Host;

/// <summary>Finds the address to advertise when none is configured: that of the default route's interface.</summary>
public static class DefaultRoute
{
    private const int RouteUp = 0x1;
    private const int RouteReject = 0x200;

    /// <summary>The interface of the lowest-metric IPv4 default route in /proc/net/route text, or null.</summary>
    public static string? InterfaceFromIPv4Table(string procNetRoute) =>
        procNetRoute.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Skip(1)
            .Select(line => line.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 8 && f[1] == "00000000" && f[7] == "00000000" && (ParseHex(f[3]) & RouteUp) != 0)
            .OrderBy(f => ParseHex(f[6]))
            .Select(f => f[0])
            .FirstOrDefault();

    /// <summary>The interface of the lowest-metric IPv6 default route in /proc/net/ipv6_route text, or null.</summary>
    public static string? InterfaceFromIPv6Table(string procNetIpv6Route) =>
        procNetIpv6Route.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 10 && f[0].All(c => c == '0') && f[1] == "00" && f[9] != "lo"
                && (ParseHex(f[8]) & RouteUp) != 0 && (ParseHex(f[8]) & RouteReject) == 0)
            .OrderBy(f => ParseHex(f[5]))
            .Select(f => f[9])
            .FirstOrDefault();

    /// <summary>The address to advertise, and a warning when it is only a fallback.</summary>
    public static (IPAddress Address, string? Warning) FindAdvertiseAddress()
    {
        var interfaces = NetworkInterface.GetAllNetworkInterfaces();
        foreach (var (table, family, parse) in new (string, AddressFamily, Func<string, string?>)[]
                 {
                     ("/proc/net/route", AddressFamily.InterNetwork, InterfaceFromIPv4Table),
                     ("/proc/net/ipv6_route", AddressFamily.InterNetworkV6, InterfaceFromIPv6Table),
                 })
        {
            var name = File.Exists(table) ? parse(File.ReadAllText(table)) : null;
            var address = interfaces.Where(i => i.Name == name).Select(i => PreferredAddress(i, family)).FirstOrDefault(a => a is not null);
            if (address is not null)
            {
                return (address, null);
            }
        }

        var fallback = interfaces
            .Where(i => i.OperationalStatus != OperationalStatus.Down && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .Select(i => PreferredAddress(i, AddressFamily.InterNetwork) ?? PreferredAddress(i, AddressFamily.InterNetworkV6))
            .FirstOrDefault(a => a is not null);
        return fallback is not null
            ? (fallback, $"There is no default route; advertising {fallback}, the first address found. Set --advertise to the address peers should use.")
            : (IPAddress.Loopback, "There is no default route and no network interface; advertising 127.0.0.1. Set --advertise before this node creates or joins a cluster.");
    }

    private static IPAddress? PreferredAddress(NetworkInterface nic, AddressFamily family) =>
        nic.GetIPProperties().UnicastAddresses
            .Select(a => a.Address)
            .Where(a => a.AddressFamily == family && !a.IsIPv6LinkLocal && !IPAddress.IsLoopback(a))
            .FirstOrDefault();

    private static int ParseHex(string value) =>
        int.TryParse(value, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
}
