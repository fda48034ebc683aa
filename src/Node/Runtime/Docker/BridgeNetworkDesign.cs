using System.Globalization;
using System.Net.Sockets;
using Docker.DotNet.Models;

namespace Nanobox.Node.Runtime.Docker;

/// <summary>
/// The bridge network the node's containers attach to, as the engine's create request, and how an
/// existing network differs from it. Pure: the engine calls live in <see cref="DockerEngine"/>.
/// </summary>
internal static class BridgeNetworkDesign
{
    public const string BridgeNameOption = "com.docker.network.bridge.name";
    public const string MtuOption = "com.docker.network.driver.mtu";

    /// <exception cref="ArgumentException">The spec is not a usable IPv4 bridge network; the message says why.</exception>
    public static void Validate(BridgeNetworkSpec spec)
    {
        var problems = new List<string>();
        if (spec.Name.Length == 0 || !char.IsAsciiLetterOrDigit(spec.Name[0]) || !spec.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-')
            || spec.Name is "host" or "none" or "bridge" or "default")
        {
            problems.Add($"name '{spec.Name}' is not a network name of ours: letters, digits, '_', '.', '-', not host, none, bridge or default");
        }

        if (spec.Subnet.BaseAddress.AddressFamily != AddressFamily.InterNetwork || spec.Subnet.PrefixLength is < 8 or > 30)
        {
            problems.Add($"subnet {spec.Subnet} must be IPv4 with a prefix between /8 and /30");
        }
        else
        {
            if (!spec.Subnet.Contains(spec.Gateway) || spec.Gateway.Equals(spec.Subnet.BaseAddress))
            {
                problems.Add($"gateway {spec.Gateway} must be a host address inside {spec.Subnet}");
            }

            if (spec.IpRange is { } range && (range.BaseAddress.AddressFamily != AddressFamily.InterNetwork || range.PrefixLength < spec.Subnet.PrefixLength || !spec.Subnet.Contains(range.BaseAddress)))
            {
                problems.Add($"ip range {range} must lie inside {spec.Subnet}");
            }
        }

        if (spec.BridgeName is { } bridge && (bridge.Length is 0 or > 15 || !bridge.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-')))
        {
            problems.Add($"bridge name '{bridge}' must be 1-15 letters, digits, '_', '.' or '-' (a Linux interface name)");
        }

        if (spec.Mtu is < 576 or > 65535)
        {
            problems.Add($"MTU {spec.Mtu} must be between 576 and 65535");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException($"network {spec.Name}: {string.Join("; ", problems)}", nameof(spec));
        }
    }

    public static NetworksCreateParameters Render(BridgeNetworkSpec spec, string nodeId) => new()
    {
        Name = spec.Name,
        Driver = "bridge",
        IPAM = new IPAM
        {
            Driver = "default",
            Config = [new IPAMConfig { Subnet = spec.Subnet.ToString(), Gateway = spec.Gateway.ToString(), IPRange = spec.IpRange?.ToString() ?? "" }],
        },
        Options = Options(spec),
        Labels = new Dictionary<string, string> { [ContainerLabels.Managed] = "true", [ContainerLabels.Node] = nodeId },
    };

    /// <summary>Every setting of <paramref name="existing"/> that is not what <paramref name="spec"/> asks for; empty when it can be kept.</summary>
    public static IReadOnlyList<string> Differences(BridgeNetworkSpec spec, NetworkResponse existing)
    {
        var differences = new List<string>();
        if (existing.Driver != "bridge")
        {
            differences.Add($"driver {existing.Driver} (want bridge)");
        }

        var ipam = existing.IPAM?.Config ?? [];
        var want = $"subnet {spec.Subnet} gateway {spec.Gateway} ip-range {spec.IpRange?.ToString() ?? "none"}";
        var have = string.Join(", ", ipam.Select(c => $"subnet {c.Subnet} gateway {c.Gateway} ip-range {(string.IsNullOrEmpty(c.IPRange) ? "none" : c.IPRange)}"));
        if (have != want)
        {
            differences.Add($"{(have.Length == 0 ? "no address pool" : have)} (want {want})");
        }

        // Both options are compared even when not asked for: a bridge name or MTU set by someone else differs from a new network.
        var options = existing.Options ?? new Dictionary<string, string>();
        var wanted = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            [BridgeNameOption] = spec.BridgeName,
            [MtuOption] = spec.Mtu?.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in wanted)
        {
            var actual = options.TryGetValue(key, out var v) ? v : null;
            if (actual != value)
            {
                differences.Add($"{key}={actual ?? "unset"} (want {value ?? "unset"})");
            }
        }

        return differences;
    }

    private static Dictionary<string, string> Options(BridgeNetworkSpec spec)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        if (spec.BridgeName is { } bridge)
        {
            options[BridgeNameOption] = bridge;
        }

        if (spec.Mtu is { } mtu)
        {
            options[MtuOption] = mtu.ToString(CultureInfo.InvariantCulture);
        }

        return options;
    }
}
