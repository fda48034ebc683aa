using System.Collections.Immutable;
using Nanobox.Node.Runtime.Docker;

namespace Nanobox.Node.Runtime.Instances;

/// <summary>One thing the reconciler does to make the engine hold what is placed on this node.</summary>
public abstract record InstanceAction;

/// <summary>Nothing runs the instance yet: create and start its container.</summary>
public sealed record CreateInstance(PlacedInstance Instance) : InstanceAction;

/// <summary>The container runs an older spec or image: remove it, then create the instance anew.</summary>
public sealed record ReplaceInstance(ManagedContainer Container, PlacedInstance Instance) : InstanceAction;

/// <summary>The container exited and its back-off is over: start the same container again.</summary>
public sealed record StartAgain(ManagedContainer Container, PlacedInstance Instance) : InstanceAction;

/// <summary>The container is not placed here any more (moved, scaled down, its app removed): stop and remove it.</summary>
public sealed record RemoveContainer(ManagedContainer Container) : InstanceAction;

/// <summary>
/// What the engine must change to hold exactly the instances placed on this node (pure). A running container
/// with the wanted fingerprint is left alone, so restarting the agent changes nothing. Replacements roll: one
/// instance of a component at a time, and none while a new one of that component is not running yet, so a
/// deploy that does not start stops after its first instance and the old ones go on serving.
/// </summary>
public static class InstanceDiff
{
    /// <param name="actual">This node's containers (the engine lists only the agent's own).</param>
    /// <param name="startDue">Whether an exited container's back-off is over.</param>
    public static ImmutableArray<InstanceAction> Compute(IReadOnlyList<PlacedInstance> wanted, IReadOnlyList<ManagedContainer> actual, Func<ManagedContainer, bool> startDue)
    {
        var byName = actual.ToDictionary(c => c.Name, StringComparer.Ordinal);
        var wantedNames = wanted.Select(w => w.ContainerName).ToHashSet(StringComparer.Ordinal);
        var actions = ImmutableArray.CreateBuilder<InstanceAction>();
        actions.AddRange(actual.Where(c => !wantedNames.Contains(c.Name)).OrderBy(c => c.Name, StringComparer.Ordinal).Select(c => new RemoveContainer(c)));

        var rolling = new HashSet<(string App, string Component)>();
        foreach (var instance in wanted.Where(w => byName.TryGetValue(w.ContainerName, out var c) && c.Fingerprint == w.Fingerprint && !c.IsRunning))
        {
            rolling.Add((instance.Key.App, instance.Key.Component));
        }

        foreach (var instance in wanted)
        {
            if (!byName.TryGetValue(instance.ContainerName, out var container))
            {
                actions.Add(new CreateInstance(instance));
            }
            else if (container.Fingerprint != instance.Fingerprint)
            {
                if (rolling.Add((instance.Key.App, instance.Key.Component)))
                {
                    actions.Add(new ReplaceInstance(container, instance));
                }
            }
            else if (IsStopped(container) && startDue(container))
            {
                actions.Add(new StartAgain(container, instance));
            }
        }

        return actions.ToImmutable();
    }

    /// <summary>Exited, dead, or created and never started: the engine will not start it by itself (restart policy no).</summary>
    public static bool IsStopped(ManagedContainer container) => container.State is "exited" or "dead" or "created";
}
