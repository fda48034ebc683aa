namespace Nanobox.Node.Overlay.Netlink;

/// <summary>
/// The kernel's routing and link configuration of one network namespace, in-process over rtnetlink:
/// links, addresses, a vxlan device's FDB, neighbours, and tx checksum offload. Each call is one request
/// the kernel acknowledges, so a refusal surfaces as a <see cref="NetlinkException"/> with its errno and
/// the operation's name. Calls block (microseconds; at most the reply timeout) and are serialised.
/// </summary>
/// <example>
/// <code>
/// using var kernel = RtNetlink.Open("/run/netns/lab1");
/// var vxlan = kernel.Links.Get("nanobox-vx") ?? kernel.Links.CreateVxlan(spec);
/// kernel.Fdb.Append(vxlan.Device, new FdbEntry(FdbEntry.AllZeroMac, peer));
/// </code>
/// </example>
public sealed class RtNetlink : IDisposable
{
    /// <summary>How long a call waits for the kernel's reply before it fails.</summary>
    public static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(5);

    private readonly NetlinkSocket _netlink;
    private readonly FileDescriptor _ioctl;

    private RtNetlink(NetlinkSocket netlink, FileDescriptor ioctl)
    {
        _netlink = netlink;
        _ioctl = ioctl;
        Links = new NetlinkLinks(netlink);
        Addresses = new NetlinkAddresses(netlink);
        Fdb = new NetlinkFdb(netlink);
        Neighbours = new NetlinkNeighbours(netlink);
        Offloads = new DeviceOffloads(ioctl);
    }

    /// <summary>Links: list, look up, create bridges and vxlan devices, enslave, MTU, MAC, up/down, delete.</summary>
    public NetlinkLinks Links { get; }

    /// <summary>IPv4 and IPv6 interface addresses.</summary>
    public NetlinkAddresses Addresses { get; }

    /// <summary>A vxlan device's own forwarding table (remote VTEPs per MAC, all-zero entries for flooding).</summary>
    public NetlinkFdb Fdb { get; }

    /// <summary>Permanent ARP/ND entries (what a vxlan device with proxy on answers from).</summary>
    public NetlinkNeighbours Neighbours { get; }

    /// <summary>Transmit checksum offload (ethtool).</summary>
    public DeviceOffloads Offloads { get; }

    /// <summary>Opens the caller's network namespace (the agent's: the host's).</summary>
    /// <exception cref="NetlinkException">The sockets could not be opened (e.g. EPERM without CAP_NET_ADMIN for changes later).</exception>
    public static RtNetlink Open() => Open(CreateSockets(), ReplyTimeout);

    /// <summary>
    /// Opens the network namespace at <paramref name="netnsPath"/> (e.g. /run/netns/NAME, or /proc/PID/ns/net)
    /// without the calling thread ever entering it: a dedicated thread enters it, creates the sockets, goes
    /// back and ends. The sockets stay in that namespace for their life.
    /// </summary>
    /// <exception cref="NetlinkException">The path is missing (ENOENT) or not a network namespace (EINVAL), or entering it is not allowed (EPERM).</exception>
    public static RtNetlink Open(string netnsPath) => Open(netnsPath, ReplyTimeout);

    internal static RtNetlink Open(string netnsPath, TimeSpan replyTimeout)
    {
        ArgumentException.ThrowIfNullOrEmpty(netnsPath);
        return Open(NetworkNamespace.Run(netnsPath, CreateSockets).Result, replyTimeout);
    }

    private static RtNetlink Open((FileDescriptor Netlink, FileDescriptor Ioctl) sockets, TimeSpan replyTimeout)
    {
        try
        {
            return new RtNetlink(NetlinkSocket.Bind(sockets.Netlink, replyTimeout), sockets.Ioctl);
        }
        catch
        {
            sockets.Ioctl.Dispose();
            throw;
        }
    }

    /// <summary>Both sockets are created in the calling thread's namespace; binding can happen anywhere later.</summary>
    private static (FileDescriptor Netlink, FileDescriptor Ioctl) CreateSockets()
    {
        var netlink = NetlinkSocket.CreateDescriptor();
        try
        {
            return (netlink, LinuxSockets.Socket(LinuxSockets.AfInet, LinuxSockets.SockDgram, 0, "an ethtool ioctl socket"));
        }
        catch
        {
            netlink.Dispose();
            throw;
        }
    }

    /// <summary>The netlink socket, for tests of the socket layer itself.</summary>
    internal NetlinkSocket Socket => _netlink;

    public void Dispose()
    {
        _netlink.Dispose();
        _ioctl.Dispose();
    }
}
