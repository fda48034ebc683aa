using Microsoft.Extensions.Logging;

namespace Nanobox.Node.Cluster.Join;

/// <summary>Join port logs: peer addresses, node ids and reasons only, never a request's proof or a token.</summary>
internal static partial class JoinLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Join port listening on {EndPoint}")]
    public static partial void Listening(ILogger logger, string endPoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "Admitted node {NodeId} from {Remote}")]
    public static partial void Admitted(ILogger logger, string nodeId, string remote);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused a join from {Remote}: {Code}")]
    public static partial void Refused(ILogger logger, string remote, string code);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped a join connection from {Remote}: {Reason}")]
    public static partial void Dropped(ILogger logger, string remote, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The join authority failed on a request from {Remote}; told the joiner to retry")]
    public static partial void AuthorityFailed(ILogger logger, string remote, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A join connection from {Remote} failed unexpectedly")]
    public static partial void ConnectionFailed(ILogger logger, string remote, Exception exception);
}
