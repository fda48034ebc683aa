using System.Runtime.InteropServices;

namespace Nanobox.Node.Overlay.Netlink;

/// <summary>
/// The kernel refused a request, did not answer in time, or answered with something that cannot be
/// decoded (or an ethtool ioctl failed). The message names the operation and the errno, e.g.
/// "netlink: creating vxlan nanobox-vx (vni 1, port 4789, local 198.18.0.1, underlay eth9) failed: No such device (ENODEV)".
/// </summary>
public sealed class NetlinkException : Exception
{
    private const int ENOENT = 2;
    private const int ESRCH = 3;
    private const int EEXIST = 17;
    private const int ENODEV = 19;
    private const int EADDRNOTAVAIL = 99;

    internal NetlinkException(string message, int errno = 0, Exception? inner = null)
        : base(message, inner) => Errno = errno;

    /// <summary>The errno the kernel or libc returned (e.g. 17 for EEXIST), or 0 when the failure is not one (a malformed reply).</summary>
    public int Errno { get; }

    /// <summary>The object to create is already there (EEXIST).</summary>
    public bool AlreadyExists => Errno == EEXIST;

    /// <summary>The object to change or remove is not there (ENOENT, ENODEV, ESRCH, EADDRNOTAVAIL, whichever the kernel uses for that kind).</summary>
    public bool NotFound => Errno is ENOENT or ENODEV or ESRCH or EADDRNOTAVAIL;

    /// <summary>"netlink: OPERATION failed: File exists (EEXIST)", with the kernel's extended-ACK text when it sent one.</summary>
    internal static NetlinkException Failed(string operation, int errno, string? kernelMessage = null, string via = "netlink") =>
        new($"{via}: {operation} failed: {Describe(errno)}{(string.IsNullOrEmpty(kernelMessage) ? "" : $": {kernelMessage}")}", errno);

    /// <summary>A reply that breaks the wire format: never read past it, say where it broke.</summary>
    internal static NetlinkException Malformed(string detail) => new($"netlink: malformed reply from the kernel: {detail}");

    /// <summary>"File exists (EEXIST)".</summary>
    internal static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} ({Name(errno)})";

    private static string Name(int errno) => errno switch
    {
        1 => "EPERM",
        ENOENT => "ENOENT",
        ESRCH => "ESRCH",
        4 => "EINTR",
        5 => "EIO",
        9 => "EBADF",
        11 => "EAGAIN",
        12 => "ENOMEM",
        13 => "EACCES",
        16 => "EBUSY",
        EEXIST => "EEXIST",
        ENODEV => "ENODEV",
        22 => "EINVAL",
        24 => "EMFILE",
        28 => "ENOSPC",
        34 => "ERANGE",
        90 => "EMSGSIZE",
        92 => "ENOPROTOOPT",
        93 => "EPROTONOSUPPORT",
        95 => "EOPNOTSUPP",
        97 => "EAFNOSUPPORT",
        98 => "EADDRINUSE",
        EADDRNOTAVAIL => "EADDRNOTAVAIL",
        100 => "ENETDOWN",
        105 => "ENOBUFS",
        110 => "ETIMEDOUT",
        _ => $"errno {errno}",
    };
}
