using System.Runtime.CompilerServices;
using Nanobox.Node.Runtime.Docker;

namespace Nanobox.Node.Runtime;

/// <summary>
/// Logs of this node's own instances, from its engine. (Reading another node's instances is the node-to-node
/// data path's; it replaces this.)
/// </summary>
public sealed class LocalInstanceLogs(DockerEngine docker) : IInstanceLogs
{
    public async IAsyncEnumerable<ContainerLogLine> ReadAsync(string nodeId, string containerName, ContainerLogOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (nodeId != docker.NodeId)
        {
            throw new IOException($"{containerName} runs on node {nodeId}; this agent reads only its own instances' logs: run `nanobox logs` on that node");
        }

        await foreach (var line in docker.ReadLogsAsync(containerName, options, cancellationToken))
        {
            yield return line;
        }
    }
}
