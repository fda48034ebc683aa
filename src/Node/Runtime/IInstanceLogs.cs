using Nanobox.Node.Runtime.Docker;

namespace Nanobox.Node.Runtime;

/// <summary>An instance's output, read on whichever node runs it.</summary>
public interface IInstanceLogs
{
    IAsyncEnumerable<ContainerLogLine> ReadAsync(string nodeId, string containerName, ContainerLogOptions options, CancellationToken cancellationToken);
}
