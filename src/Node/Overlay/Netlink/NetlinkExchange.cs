using System.Runtime.InteropServices;

namespace Nanobox.Node.Overlay.Netlink;

/// <summary>Receives one reply message of an exchange (a dump's entries, a get's answer).</summary>
internal delegate void ReplyHandler(in NetlinkMessage message);

/// <summary>
/// The replies to one request, fed datagram by datagram as they arrive: data messages go to a handler,
/// an NLMSG_ERROR with errno 0 (the ACK) or NLMSG_DONE (the end of a dump, possibly multi-part across
/// datagrams) completes it, an NLMSG_ERROR with an errno throws. Messages of other sequence numbers are
/// late replies to an earlier, timed-out request and are skipped. Pure: no socket, so tested on bytes.
/// </summary>
internal sealed class NetlinkExchange(uint sequence, string operation, bool dump, ReplyHandler? onReply = null)
{
    private const int ErrorCodeLength = 4;

    /// <summary>The ACK or NLMSG_DONE arrived.</summary>
    public bool Complete { get; private set; }

    /// <summary>A dump message carried NLM_F_DUMP_INTR: the table changed while it was read, so the dump may be inconsistent.</summary>
    public bool Interrupted { get; private set; }

    /// <exception cref="NetlinkException">The kernel refused the request, or the datagram is malformed.</exception>
    public void Accept(ReadOnlySpan<byte> datagram)
    {
        foreach (var message in new NetlinkMessages(datagram))
        {
            if (Complete || message.Sequence != sequence)
            {
                continue;
            }

            switch (message.Type)
            {
                case MessageType.Noop:
                    break;
                case MessageType.Error:
                    var errno = -ReadErrorCode(message);
                    if (errno != 0)
                    {
                        throw NetlinkException.Failed(operation, errno, KernelMessage(message));
                    }

                    // A dump ends at NLMSG_DONE; only a plain request ends at its ACK.
                    Complete = !dump;
                    break;
                case MessageType.Done:
                    // Since Linux 4.x NLMSG_DONE carries the dump's result; an older kernel may send it empty.
                    var result = message.Payload.Length >= ErrorCodeLength ? -MemoryMarshal.Read<int>(message.Payload) : 0;
                    if (result > 0)
                    {
                        throw NetlinkException.Failed(operation, result, KernelMessage(message));
                    }

                    Complete = true;
                    break;
                case MessageType.Overrun:
                    throw NetlinkException.Malformed($"the kernel reported an overrun (data lost) while {operation}");
                default:
                    Interrupted |= (message.Flags & MessageFlags.DumpInterrupted) != 0;
                    onReply?.Invoke(message);
                    break;
            }
        }
    }

    private static int ReadErrorCode(in NetlinkMessage message) =>
        message.Payload.Length >= ErrorCodeLength + NetlinkRequest.HeaderLength
            ? MemoryMarshal.Read<int>(message.Payload)
            : throw NetlinkException.Malformed($"NLMSG_ERROR of {message.Payload.Length} bytes, too few for the error code and the echoed request header ({ErrorCodeLength + NetlinkRequest.HeaderLength})");

    /// <summary>
    /// The NLMSGERR_ATTR_MSG text of an extended ACK (NETLINK_EXT_ACK), e.g. "MTU greater than device maximum".
    /// On NLMSG_ERROR the attributes follow the echoed request (only its header when capped); on NLMSG_DONE, the error code.
    /// </summary>
    private static string? KernelMessage(in NetlinkMessage message)
    {
        if ((message.Flags & MessageFlags.AckTlvs) == 0)
        {
            return null;
        }

        long end = ErrorCodeLength;
        if (message.Type == MessageType.Error)
        {
            var echoed = (message.Flags & MessageFlags.Capped) != 0
                ? NetlinkRequest.HeaderLength
                : Math.Max(MemoryMarshal.Read<uint>(message.Payload[ErrorCodeLength..]), NetlinkRequest.HeaderLength);
            end += echoed;
        }

        if (end > message.Payload.Length)
        {
            throw NetlinkException.Malformed($"extended ACK attributes would start at byte {end} of a {message.Payload.Length}-byte error message");
        }

        var offset = Math.Min(NetlinkRequest.Align((int)end), message.Payload.Length);
        foreach (var attribute in new NetlinkAttributes(message.Payload[offset..]))
        {
            if (attribute.Type == ExtAck.Message)
            {
                return attribute.String();
            }
        }

        return null;
    }
}
