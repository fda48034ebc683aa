namespace Nanobox.Node.Runtime.Docker;

/// <summary>How the agent reaches its host's engine, and whose containers it manages there.</summary>
public sealed record DockerEngineOptions
{
    /// <summary>The agent's <c>--docker</c> value; validated by <see cref="DockerEndpoint.Parse"/>.</summary>
    public string Endpoint { get; init; } = DockerEndpoint.Default;

    /// <summary>This node's id: it labels what the agent creates, and filters what it lists and touches.</summary>
    public required string NodeId { get; init; }

    /// <summary>The longest a single engine request may take (streams such as logs, save and load excepted).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(100);
}
