namespace Nanobox.Node.Runtime.Docker;

/// <summary>A plan that would break the lockdown or that the engine could not take; nothing was created from it.</summary>
public sealed class ContainerPlanException(string container, IReadOnlyList<string> problems)
    : Exception($"container {container} cannot be created: {string.Join("; ", problems)}")
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
