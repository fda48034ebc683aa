using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Cluster;
using Nanobox.Node.Host;
using Nanobox.Node.Runtime.Instances;

namespace Nanobox.Node.Admin;

/// <summary>The admin endpoint's routes (versioned under /v1) and the checks every request passes first.</summary>
public static partial class AdminApi
{
    public const string Prefix = "/v1";

    public static void MapAdminApi(this WebApplication app)
    {
        app.Use(AuthorizePeerAsync);
        app.Use(ProblemOnExceptionAsync);

        var v1 = app.MapGroup(Prefix);
        v1.MapGet("/status", (NodeContext node, ClusterService cluster, InstanceBoard instances) =>
            Results.Json(node.Status(cluster.Status(), instances.Status), AdminJsonContext.Default.StatusResponse));
        v1.MapClusterApi();
        v1.MapFirewallApi();
        v1.MapOverlayApi();
        v1.MapAppsApi();
        v1.MapImagesApi();
        v1.MapInternalLogsApi();

        app.MapFallback((HttpContext context) => Problems.Result(
            StatusCodes.Status404NotFound,
            "No such admin endpoint",
            $"{context.Request.Method} {context.Request.Path} is not part of this agent's API (nanobox {BuildInfo.Version}, API {Prefix}). " +
            "Use a nanobox CLI of the same version as the agent."));
    }

    private static async Task AuthorizePeerAsync(HttpContext context, RequestDelegate next)
    {
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Nanobox.Admin");
        var socket = context.Features.Get<IConnectionSocketFeature>()?.Socket;
        var peer = socket is null ? null : PeerCredentials.Read(socket);
        if (peer is null)
        {
            // Only the Unix socket is ever bound; anything else is refused rather than trusted.
            await Problems.WriteAsync(context, StatusCodes.Status403Forbidden, "Peer unknown", "The admin endpoint serves local Unix socket clients only.");
            return;
        }

        var policy = context.RequestServices.GetRequiredService<AdminAccessPolicy>();
        if (!policy.IsAllowed(peer.Value, peer.Value.SupplementaryGroups()))
        {
            LogRefused(logger, peer.Value.UserId, peer.Value.ProcessId, context.Request.Method, context.Request.Path);
            await Problems.WriteAsync(context, StatusCodes.Status403Forbidden, "Not allowed",
                $"User {peer.Value.UserId} may not use the nanobox agent. Run the command as root or add the user to the '{UnixGroups.NanoboxGroup}' group.");
            return;
        }

        LogRequest(logger, context.Request.Method, context.Request.Path, peer.Value.UserId, peer.Value.ProcessId);
        AdminCaller.Set(context, peer.Value);
        await next(context);
    }

    private static async Task ProblemOnExceptionAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (Exception ex) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Nanobox.Admin");
            LogFailed(logger, ex, context.Request.Method, context.Request.Path);
            await Problems.WriteAsync(context, StatusCodes.Status500InternalServerError, "Internal error",
                $"The agent failed to handle {context.Request.Method} {context.Request.Path}: {ex.Message} See the agent's log (journalctl -u nanobox).");
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Method} {Path} from uid {UserId} pid {ProcessId}")]
    private static partial void LogRequest(ILogger logger, string method, PathString path, uint userId, int processId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused {Method} {Path} from uid {UserId} pid {ProcessId}: not root, not the agent's user, not in the nanobox group")]
    private static partial void LogRefused(ILogger logger, uint userId, int processId, string method, PathString path);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string method, PathString path);
}
