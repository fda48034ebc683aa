namespace Nanobox.Node.Security;

/// <summary>
/// Secures node-to-node control streams (gossip push/pull, Raft, joins after admission): mutual TLS
/// with certificates from the cluster CA, revoked nodes refused. Implemented by Security; the
/// cluster layers only ask for a secured stream.
/// </summary>
public interface IStreamSecurity
{
    /// <summary>Client side. <paramref name="expectedNodeId"/>, when given, must be the peer certificate's node id.</summary>
    /// <returns>The secured stream and the authenticated peer's node id.</returns>
    Task<(Stream Stream, string PeerNodeId)> ConnectAsync(Stream transport, string? expectedNodeId, CancellationToken cancellationToken);

    /// <summary>Server side: requires and checks the client's certificate.</summary>
    Task<(Stream Stream, string PeerNodeId)> AcceptAsync(Stream transport, CancellationToken cancellationToken);
}
