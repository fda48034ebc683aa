using Nanobox.Node.Runtime.Docker;

namespace Nanobox.Node.Runtime;

/// <summary>Logs of a container on any node.</summary>
public interface IInstanceLogs
{
    /// <summary>
    /// Lines of container <paramref name="containerName"/> (one of the agent's own, see ContainerLabels) on node
    /// <paramref name="nodeId"/>: from the local engine when it is this node, else streamed from that node over
    /// mTLS. Follow keeps streaming until cancelled or the container stops.
    /// </summary>
    /// <exception cref="DockerEngineException">The engine (this node's or the remote one) refused or failed: no such container, not the agent's, engine down.</exception>
    /// <exception cref="IOException">The node is not a member, cannot be reached, or the stream from it broke off; the message names the node.</exception>
    IAsyncEnumerable<ContainerLogLine> ReadAsync(string nodeId, string containerName, ContainerLogOptions options, CancellationToken cancellationToken);
}
