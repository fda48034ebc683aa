using System.Runtime.InteropServices;

namespace Nanobox.Node.Overlay.Netlink;

/// <summary>A file descriptor from libc (a netlink or ioctl socket, a namespace file), closed once.</summary>
internal sealed class FileDescriptor : SafeHandle
{
    public FileDescriptor(int fd)
        : base(-1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => handle < 0;

    protected override bool ReleaseHandle() => LinuxSockets.close((int)handle) == 0;
}

/// <summary>
/// The libc calls the overlay needs that .NET has no managed API for: System.Net.Sockets cannot open
/// AF_NETLINK, and setns and SIOCETHTOOL have no wrapper. Errors come back as errno (SetLastError).
/// </summary>
internal static partial class LinuxSockets
{
    public const int AfNetlink = 16;
    public const int AfInet = 2;
    public const int NetlinkRoute = 0;
    public const int SockDgram = 2;
    public const int SockRaw = 3;
    public const int SockCloexec = 0x80000;
    public const int OReadOnly = 0;
    public const int OCloexec = 0x80000;
    public const int CloneNewNet = 0x40000000;
    public const int SolSocket = 1;
    public const int SoReceiveTimeout = 20;
    public const int SolNetlink = 270;
    public const int NetlinkCapAck = 10;
    public const int NetlinkExtAck = 11;
    public const int NetlinkGetStrictCheck = 12;
    public const int MsgTrunc = 0x20;
    public const uint SiocEthtool = 0x8946;
    public const int EINTR = 4;
    public const int EAGAIN = 11;

    /// <summary>struct sockaddr_nl.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct NetlinkAddress
    {
        public ushort Family;
        public ushort Padding;
        public uint PortId;
        public uint Groups;
    }

    /// <summary>struct timeval on 64-bit Linux.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct TimeValue
    {
        public nint Seconds;
        public nint Microseconds;
    }

    public static int LastErrno => Marshal.GetLastPInvokeError();

    /// <summary>socket(2) with SOCK_CLOEXEC; throws with errno when it fails.</summary>
    public static FileDescriptor Socket(int domain, int type, int protocol, string purpose)
    {
        var fd = socket(domain, type | SockCloexec, protocol);
        return fd >= 0 ? new FileDescriptor(fd) : throw NetlinkException.Failed($"opening {purpose}", LastErrno);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int bind(FileDescriptor fd, in NetlinkAddress address, uint length);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int setsockopt(FileDescriptor fd, int level, int name, void* value, uint length);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint sendto(FileDescriptor fd, byte* buffer, nuint length, int flags, in NetlinkAddress address, uint addressLength);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint recv(FileDescriptor fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setns(FileDescriptor fd, int namespaceType);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int ioctl(FileDescriptor fd, nuint request, void* argument);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int close(int fd);
}
