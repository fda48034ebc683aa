using System.Runtime.InteropServices;
using static Nanobox.Node.Overlay.Netlink.LinuxSockets;

namespace Nanobox.Node.Overlay.Netlink;

/// <summary>
/// One NETLINK_ROUTE socket: sends a request with the next sequence number and reads datagrams until its
/// <see cref="NetlinkExchange"/> completes. Blocking, bounded by SO_RCVTIMEO so a kernel that never answers
/// fails the call instead of hanging the agent. Calls are serialised: one exchange at a time.
/// </summary>
internal sealed class NetlinkSocket : IDisposable
{
    // A dump datagram is at most 32 KiB (the kernel caps its dump skb there); an echoed error is smaller.
    private const int ReceiveBufferLength = 64 * 1024;
    private const int DumpAttempts = 3;

    private readonly FileDescriptor _fd;
    private readonly TimeSpan _replyTimeout;
    private readonly byte[] _receive = new byte[ReceiveBufferLength];
    // A leaf lock: only the socket and the caller's pure reply decoders run under it.
    private readonly Lock _gate = new();
    private uint _sequence = (uint)Environment.TickCount;

    private NetlinkSocket(FileDescriptor fd, TimeSpan replyTimeout)
    {
        _fd = fd;
        _replyTimeout = replyTimeout;
    }

    /// <summary>Creates the socket file descriptor in the calling thread's network namespace.</summary>
    public static FileDescriptor CreateDescriptor() => Socket(AfNetlink, SockRaw, NetlinkRoute, "a NETLINK_ROUTE socket");

    /// <summary>Binds <paramref name="fd"/> (from <see cref="CreateDescriptor"/>), sets its options and takes ownership of it.</summary>
    public static unsafe NetlinkSocket Bind(FileDescriptor fd, TimeSpan replyTimeout)
    {
        try
        {
            var local = new NetlinkAddress { Family = AfNetlink };
            if (bind(fd, in local, (uint)sizeof(NetlinkAddress)) != 0)
            {
                throw NetlinkException.Failed("binding the NETLINK_ROUTE socket", LastErrno);
            }

            var timeout = new TimeValue { Seconds = (nint)replyTimeout.TotalSeconds, Microseconds = replyTimeout.Microseconds + (replyTimeout.Milliseconds * 1000) };
            if (setsockopt(fd, SolSocket, SoReceiveTimeout, &timeout, (uint)sizeof(TimeValue)) != 0)
            {
                throw NetlinkException.Failed("setting the netlink reply timeout (SO_RCVTIMEO)", LastErrno);
            }

            // Best effort, each: the kernel's reason text in errors (4.12+), errors that echo only the
            // request's header, and dumps filtered by the kernel (4.20+). Without them the replies still parse,
            // and every dump is filtered here as well.
            var on = 1;
            setsockopt(fd, SolNetlink, NetlinkExtAck, &on, sizeof(int));
            setsockopt(fd, SolNetlink, NetlinkCapAck, &on, sizeof(int));
            setsockopt(fd, SolNetlink, NetlinkGetStrictCheck, &on, sizeof(int));
            return new NetlinkSocket(fd, replyTimeout);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>Sends a request that carries NLM_F_ACK and waits for its ACK; replies before it (a get's answer) go to <paramref name="onReply"/>.</summary>
    /// <exception cref="NetlinkException">The kernel refused it (errno), or did not answer within the reply timeout.</exception>
    public void Execute(byte[] request, string operation, ReplyHandler? onReply = null)
    {
        lock (_gate)
        {
            Exchange(request, operation, dump: false, onReply);
        }
    }

    /// <summary>
    /// Sends a dump request and decodes each entry. A dump the kernel flags as interrupted (the table changed
    /// while it was read) is read again, so the list is consistent.
    /// </summary>
    public List<T> Dump<T>(byte[] request, string operation, Func<NetlinkMessage, T?> decode)
        where T : class
    {
        lock (_gate)
        {
            for (var attempt = 1; ; attempt++)
            {
                var entries = new List<T>();
                var exchange = Exchange(request, operation, dump: true, (in NetlinkMessage message) =>
                {
                    if (decode(message) is { } entry)
                    {
                        entries.Add(entry);
                    }
                });
                if (!exchange.Interrupted)
                {
                    return entries;
                }

                if (attempt == DumpAttempts)
                {
                    throw new NetlinkException($"netlink: {operation} failed: the table kept changing while it was read ({DumpAttempts} dumps interrupted)");
                }
            }
        }
    }

    private NetlinkExchange Exchange(byte[] request, string operation, bool dump, ReplyHandler? onReply)
    {
        var sequence = ++_sequence;
        MemoryMarshal.Write(request.AsSpan(8), sequence);
        Send(request, operation);
        var exchange = new NetlinkExchange(sequence, operation, dump, onReply);
        Receive(exchange, operation);
        return exchange;
    }

    private unsafe void Send(byte[] request, string operation)
    {
        var kernel = new NetlinkAddress { Family = AfNetlink };
        fixed (byte* bytes = request)
        {
            while (sendto(_fd, bytes, (nuint)request.Length, 0, in kernel, (uint)sizeof(NetlinkAddress)) < 0)
            {
                var errno = LastErrno;
                if (errno != EINTR)
                {
                    throw NetlinkException.Failed($"{operation} (sending the request)", errno);
                }
            }
        }
    }

    /// <summary>Reads datagrams into <paramref name="exchange"/> until it completes. Internal for the timeout test.</summary>
    internal unsafe void Receive(NetlinkExchange exchange, string operation)
    {
        while (!exchange.Complete)
        {
            nint received;
            fixed (byte* buffer = _receive)
            {
                // MSG_TRUNC: the return value is the datagram's real length, so a cut one is detected.
                received = recv(_fd, buffer, (nuint)_receive.Length, MsgTrunc);
            }

            if (received < 0)
            {
                var errno = LastErrno;
                if (errno == EINTR)
                {
                    continue;
                }

                throw errno == EAGAIN
                    ? new NetlinkException($"netlink: {operation} failed: no reply from the kernel within {_replyTimeout.TotalSeconds:0.###} s", errno)
                    : NetlinkException.Failed($"{operation} (receiving the reply)", errno);
            }

            if (received > _receive.Length)
            {
                throw NetlinkException.Malformed($"a {received}-byte datagram does not fit the {_receive.Length}-byte receive buffer while {operation}");
            }

            exchange.Accept(_receive.AsSpan(0, (int)received));
        }
    }

    public void Dispose() => _fd.Dispose();
}
