namespace Nanobox.Node.Cluster.Consensus;

/// <summary>Carries a write from a follower to the leader, which replicates it through Raft.</summary>
public interface ILeaderForwarder
{
    /// <returns>The state after the leader applied the command.</returns>
    /// <exception cref="ClusterCommandRejectedException">The leader refused the command.</exception>
    /// <exception cref="WriteOutcomeUnknownException">The request reached the leader but its outcome is unknown.</exception>
    /// <remarks>Failures before the leader took the request (unreachable, no longer leader) are retried by <see cref="ConsensusNode"/>.</remarks>
    Task<ClusterState> ForwardAsync(ControlPeer leader, ClusterCommand command, CancellationToken cancellationToken);
}
