using Microsoft.Extensions.Hosting;
using Nanobox.Node.Runtime.Instances;
using Nanobox.Node.Runtime.Placement;

namespace Nanobox.Node.Runtime;

/// <summary>
/// The agent's app loops, for its whole life: placement (acts only while this node leads) and this node's
/// reconciler (acts only while it is a cluster member). Containers are left running when the agent stops.
/// </summary>
public sealed class AppsRuntime(IAppsCluster cluster, PlacementManager placement, NodeReconciler reconciler) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(
            Task.Run(() => placement.RunAsync(cluster, stoppingToken), CancellationToken.None),
            Task.Run(() => reconciler.RunAsync(cluster, stoppingToken), CancellationToken.None));
}
