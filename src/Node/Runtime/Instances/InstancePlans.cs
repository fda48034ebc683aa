using System.Net;
using Nanobox.Node.Overlay;
using Nanobox.Node.Runtime.Docker;
using Nanobox.Node.Runtime.Spec;

namespace Nanobox.Node.Runtime.Instances;

/// <summary>How an instance's component spec becomes the plan of its container (pure).</summary>
public static class InstancePlans
{
    /// <param name="address">The instance's overlay address, from this node's block; its MAC follows from it.</param>
    /// <param name="writable">Container path -> the instance's own host directory.</param>
    /// <param name="network">Container path -> the component's host directory on this node.</param>
    public static ContainerPlan For(
        PlacedInstance instance,
        string nodeId,
        string network,
        IPAddress address,
        IReadOnlyDictionary<string, string> writable,
        IReadOnlyDictionary<string, string> networkDirs)
    {
        var component = instance.Component;
        return new ContainerPlan
        {
            App = instance.Key.App,
            Component = instance.Key.Component,
            Instance = instance.Key.Index,
            NodeId = nodeId,
            Image = instance.Pin,
            Command = component.Command.IsEmpty ? null : [.. component.Command],
            Environment = component.Env,
            User = component.User.ToString(),
            WritableDirectories = writable,
            NetworkDirectories = networkDirs,
            Ports = [.. component.Ports.Select(p => new ContainerPort(p.Number, p.Protocol == PortProtocol.Udp ? "udp" : "tcp"))],
            MemoryBytes = component.Resources.MemoryBytes,
            NanoCpus = component.Resources.MilliCpus * 1_000_000L,
            PidsLimit = component.Resources.Pids,
            CapAdd = component.CapAdd,
            Labels = component.Labels,
            Network = new NetworkAttachment(network, address, OverlayBlock.MacFor(address)),
            Fingerprint = instance.Fingerprint,
            // tmpfs pages count against the memory limit: at most a quarter of it.
            TmpSizeBytes = Math.Min(ContainerSpecBuilder.DefaultTmpSizeBytes, component.Resources.MemoryBytes / 4),
        };
    }

    /// <summary>The lowest address of <paramref name="block"/> (.2 to .254) no container uses; null when all are taken.</summary>
    public static IPAddress? LowestFree(OverlayBlock block, IReadOnlySet<IPAddress> used)
    {
        for (var number = OverlayBlock.FirstContainerNumber; number <= OverlayBlock.LastContainerNumber; number++)
        {
            var address = block.Address(number);
            if (!used.Contains(address))
            {
                return address;
            }
        }

        return null;
    }
}
