namespace Nanobox.Node.Runtime.Docker;

/// <summary>The engine refused or could not be reached; the message says what failed and what to do.</summary>
public sealed class DockerEngineException(string message, Exception? inner = null) : Exception(message, inner);
