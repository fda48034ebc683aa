using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nanobox.Node.Cluster;

namespace Nanobox.Node.Admin;

/// <summary>/v1/cluster/... and /v1/members: creating, joining and inspecting the cluster.</summary>
public static class ClusterApi
{
    public static void MapClusterApi(this RouteGroupBuilder v1)
    {
        v1.MapPost("/cluster/init", (ClusterInitRequest request, ClusterService cluster, CancellationToken ct) =>
            Run(async () => Results.Json(await cluster.InitAsync(request, ct), AdminJsonContext.Default.ClusterInitResponse)));

        v1.MapPost("/cluster/join", (ClusterJoinRequest request, ClusterService cluster, CancellationToken ct) =>
            Run(async () => Results.Json(await cluster.JoinAsync(request.Address, request.Token, ct), AdminJsonContext.Default.ClusterJoinResponse)));

        v1.MapGet("/cluster/token", (ClusterService cluster, CancellationToken ct) =>
            Run(async () => Results.Json(await cluster.TokenAsync(rotate: false, ct), AdminJsonContext.Default.ClusterTokenResponse)));

        v1.MapPost("/cluster/token/rotate", (ClusterService cluster, CancellationToken ct) =>
            Run(async () => Results.Json(await cluster.TokenAsync(rotate: true, ct), AdminJsonContext.Default.ClusterTokenResponse)));

        v1.MapPost("/cluster/remove", (ClusterRemoveRequest request, ClusterService cluster, CancellationToken ct) =>
            Run(async () => Results.Json(await cluster.RemoveAsync(request.Node, ct), AdminJsonContext.Default.MemberResponse)));

        v1.MapPost("/cluster/rotate-key", (ClusterService cluster, CancellationToken ct) =>
            Run(async () => Results.Json(new KeyRotationResponse(await cluster.RotateGossipKeyAsync(ct)), AdminJsonContext.Default.KeyRotationResponse)));

        v1.MapGet("/members", (ClusterService cluster) =>
            Run(() => Task.FromResult(Results.Json(cluster.Members(), AdminJsonContext.Default.IReadOnlyListMemberResponse))));
    }

    /// <summary>Turns a <see cref="ClusterException"/> into problem details with the status that fits it.</summary>
    private static async Task<IResult> Run(Func<Task<IResult>> action)
    {
        try
        {
            return await action();
        }
        catch (ClusterException ex)
        {
            return Problem(ex);
        }
    }

    /// <summary>Problem details with the status that fits the failure.</summary>
    public static IResult Problem(ClusterException ex)
    {
        var (status, title) = ex.Kind switch
        {
            ClusterErrorKind.Conflict => (StatusCodes.Status409Conflict, "Conflict"),
            ClusterErrorKind.BadRequest => (StatusCodes.Status400BadRequest, "Bad request"),
            ClusterErrorKind.Refused => (StatusCodes.Status403Forbidden, "Refused"),
            ClusterErrorKind.Unreachable => (StatusCodes.Status502BadGateway, "Unreachable"),
            _ => (StatusCodes.Status503ServiceUnavailable, "No quorum"),
        };
        return Problems.Result(status, title, ex.Message);
    }
}
