namespace Nanobox.Node.Security;

/// <summary>Why a join failed, for the program (exit codes, retries); the exception's message is for the person.</summary>
public enum JoinFailure
{
    /// <summary>No connection to the address: wrong address, node down, join port blocked.</summary>
    Unreachable,

    /// <summary>The server's CA is not the one the token pins: another cluster's token, a typo, or an interceptor.</summary>
    CaMismatch,

    /// <summary>The server's certificate does not chain to the CA it announced.</summary>
    UntrustedServer,

    /// <summary>The cluster refused this node; <see cref="JoinFailedException.ErrorCode"/> says why.</summary>
    Refused,

    /// <summary>The server does not speak this join protocol (another version, not a join port) or broke it.</summary>
    Protocol,

    /// <summary>The server did not finish the join in time.</summary>
    TimedOut,
}

/// <summary>The join did not happen. The message says what to do about it and never contains the token.</summary>
/// <param name="errorCode">The server's <see cref="JoinError.Code"/>, when the cluster refused.</param>
public sealed class JoinFailedException(JoinFailure failure, string message, Exception? inner = null, string? errorCode = null) : Exception(message, inner)
{
    public JoinFailure Failure { get; } = failure;

    public string? ErrorCode { get; } = errorCode;

    /// <summary>With <see cref="JoinError.NotLeaderCode"/>: where the leader takes joins.</summary>
    public string? Leader { get; init; }
}
