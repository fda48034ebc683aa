namespace Nanobox.Node.Cluster.Consensus;

/// <summary>
/// The node found no leader with a quorum within the write timeout: it is cut off from the majority
/// of voters (or too many are down). Writes are refused; <see cref="ConsensusNode.State"/> still
/// serves the last state this node knows.
/// </summary>
public sealed class NoQuorumException(int voters)
    : Exception($"this node cannot reach a majority of voters ({Quorum.Majority(voters)} of {voters} needed); writes are refused until it does; reads serve the last known state")
{
    public int Voters { get; } = voters;
}

internal static class Quorum
{
    public static int Majority(int voters) => voters / 2 + 1;
}

/// <summary>
/// The write reached a leader that lost its leadership (or the connection to it broke) before the
/// outcome was known: it may or may not commit. Read the state before retrying a non-idempotent command.
/// </summary>
public sealed class WriteOutcomeUnknownException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>No usable leader right now (none elected, it stepped down, unreachable): the write is retried until the write timeout.</summary>
internal sealed class LeaderUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
