using Nanobox.Node.Runtime.Docker;
using Nanobox.Node.Runtime.Placement;
using Nanobox.Node.Runtime.Spec;

namespace Nanobox.Node.Runtime.Instances;

/// <summary>An instance this node should run: placed here, of a component its app's current release has.</summary>
/// <param name="Pin">The image id or repo digest the release pinned the component's image to.</param>
public sealed record PlacedInstance(InstanceKey Key, AppRelease Release, ComponentSpec Component, string Pin)
{
    /// <summary>What the container must carry; a container with another one is replaced.</summary>
    public string Fingerprint { get; } = Component.Fingerprint(Pin);

    public string ContainerName => ContainerSpecBuilder.ContainerName(Key.App, Key.Component, Key.Index);

    /// <summary>
    /// The instances placed on <paramref name="nodeId"/> whose app, component and replica still exist. The two
    /// sections change apart: an instance of a removed app or replica is not wanted even while the map still names it.
    /// </summary>
    public static IReadOnlyList<PlacedInstance> On(string nodeId, AppCatalog catalog, PlacementMap map) =>
        [.. from key in map.On(nodeId)
            where catalog.Apps.ContainsKey(key.App)
            let release = catalog.Apps[key.App].Current
            where release.Spec.Components.TryGetValue(key.Component, out var c) && key.Index < c.Replicas && release.ImagePins.ContainsKey(key.Component)
            orderby key
            select new PlacedInstance(key, release, release.Spec.Components[key.Component], release.ImagePins[key.Component])];
}
