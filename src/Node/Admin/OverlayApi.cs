using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nanobox.Node.Cluster;
using Nanobox.Node.Overlay;

namespace Nanobox.Node.Admin;

/// <summary>/v1/overlay: the overlay network on this node.</summary>
public static class OverlayApi
{
    public static void MapOverlayApi(this RouteGroupBuilder v1) =>
        v1.MapGet("/overlay", (OverlayManager overlay, ClusterService cluster) =>
            Results.Json(overlay.Show(member: cluster.Runtime is not null), AdminJsonContext.Default.OverlayStatus));
}
