using System.Runtime.CompilerServices;
using Nanobox.Node.Runtime.Docker;

namespace Nanobox.Node.Runtime.Distribution;

/// <summary>
/// The agent's <see cref="IInstanceLogs"/>: this node's containers from its own engine, other nodes' from theirs,
/// streamed over mutual TLS (<see cref="PeerDataClient.ReadLogsAsync"/>); each node serves only its own containers.
/// </summary>
public sealed class ClusterInstanceLogs(DockerEngine engine, IPeerNetwork network) : IInstanceLogs
{
    /// <inheritdoc />
    public async IAsyncEnumerable<ContainerLogLine> ReadAsync(string nodeId, string containerName, ContainerLogOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var lines = nodeId == engine.NodeId ? engine.ReadLogsAsync(containerName, options, cancellationToken) : FromMember(nodeId, containerName, options, cancellationToken);
        await foreach (var line in lines.ConfigureAwait(false))
        {
            yield return line;
        }
    }

    private IAsyncEnumerable<ContainerLogLine> FromMember(string nodeId, string containerName, ContainerLogOptions options, CancellationToken cancellationToken)
    {
        var view = network.Peers() ?? throw new IOException($"node {nodeId} is another node, and this node is in no cluster to reach it through");
        var member = view.Members.FirstOrDefault(m => m.NodeId == nodeId) ?? throw new IOException($"node {nodeId} is not a member of this cluster");
        return PeerDataClient.ReadLogsAsync(view.Security, view.RequestsEndPoint(member), member.Name, containerName, options, cancellationToken);
    }
}
