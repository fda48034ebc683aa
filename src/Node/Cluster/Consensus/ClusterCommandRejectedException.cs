namespace Nanobox.Node.Cluster.Consensus;

/// <summary>
/// A command that is invalid against the current state. Every replica refuses it the same way and
/// keeps its state, so a refused command is a no-op in the log, never a divergence.
/// </summary>
public sealed class ClusterCommandRejectedException(string message) : Exception(message);
