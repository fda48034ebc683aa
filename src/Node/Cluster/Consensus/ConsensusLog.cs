using System.Net.Security;
using Microsoft.Extensions.Logging;

namespace Nanobox.Node.Cluster.Consensus;

internal static partial class ConsensusLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Raft started on {EndPoint} (cold start: {ColdStart}, state version {Version})")]
    public static partial void Started(ILogger logger, string endPoint, bool coldStart, long version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Raft leader is now {Leader}")]
    public static partial void LeaderChanged(ILogger logger, string leader);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused the TLS certificate of a Raft {PeerRole} ({Subject}): {Errors}")]
    public static partial void PeerCertificateRefused(ILogger logger, string peerRole, string subject, SslPolicyErrors errors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a control connection from {Remote}: {Reason}")]
    public static partial void ControlPeerRefused(ILogger logger, string remote, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Control request from {Peer} failed")]
    public static partial void ControlRequestFailed(ILogger logger, string peer, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Log entry {Index} refused by every replica: {Reason}")]
    public static partial void CommandRefused(ILogger logger, long index, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "A StateChanged handler failed; the state machine goes on")]
    public static partial void StateChangedHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Write not placed yet, retrying: {Reason}")]
    public static partial void WriteRetry(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Raft configuration: {Change} {EndPoint} {Outcome}")]
    public static partial void MembershipChanged(ILogger logger, string change, string endPoint, string outcome);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Another membership change is in flight; retrying {Change} {EndPoint}")]
    public static partial void MembershipBusy(ILogger logger, string change, string endPoint);
}
