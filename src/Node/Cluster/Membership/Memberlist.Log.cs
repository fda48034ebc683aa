using System.Net;
using Microsoft.Extensions.Logging;

namespace Nanobox.Node.Cluster.Membership;

public sealed partial class Memberlist
{
    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Member {Name} ({NodeId}) at {Endpoint}: {Change}, incarnation {Incarnation}")]
        public static partial void MemberChanged(ILogger logger, string name, string nodeId, IPEndPoint endpoint, MembershipEventKind change, uint incarnation);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Refuted a claim that this node is suspect, dead or someone else: now incarnation {Incarnation}")]
        public static partial void Refuted(ILogger logger, uint incarnation);

        [LoggerMessage(Level = LogLevel.Debug, Message = "Dropped a gossip datagram from {From}: {Reason} (further drops for this reason are counted, logged at most every 10 s)")]
        public static partial void DroppedDatagram(ILogger logger, IPEndPoint from, string reason);

        [LoggerMessage(Level = LogLevel.Debug, Message = "Dropped a gossip stream frame from {From}: {Reason}")]
        public static partial void DroppedFrame(ILogger logger, IPEndPoint from, string reason);

        [LoggerMessage(Level = LogLevel.Debug, Message = "Gossip stream with {Endpoint} failed: {Error}")]
        public static partial void StreamFailed(ILogger logger, IPEndPoint endpoint, string error);

        [LoggerMessage(Level = LogLevel.Information, Message = "Joined the cluster through {Answered} of {Tried} seeds")]
        public static partial void Joined(ILogger logger, int answered, int tried);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Leave announcement not fully gossiped within {Timeout}; leaving anyway")]
        public static partial void LeaveTimedOut(ILogger logger, TimeSpan timeout);

        [LoggerMessage(Level = LogLevel.Error, Message = "Gossip {Loop} round failed")]
        public static partial void LoopFailed(ILogger logger, string loop, Exception exception);
    }
}
