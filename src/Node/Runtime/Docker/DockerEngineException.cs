namespace Nanobox.Node.Runtime.Docker;

/// <summary>The engine refused or could not be reached; the message says what failed and what to do.</summary>
/// <param name="unreachable">True when no engine answered at all (no socket, connection refused, timeout), as opposed to a refusal.</param>
public sealed class DockerEngineException(string message, Exception? inner = null, bool unreachable = false) : Exception(message, inner)
{
    /// <summary>No engine answered: a node without Docker, or dockerd down, rather than a request the engine refused.</summary>
    public bool Unreachable { get; } = unreachable;
}
