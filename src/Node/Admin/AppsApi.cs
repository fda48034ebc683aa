using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Cluster;
using Nanobox.Node.Runtime;
using Nanobox.Node.Runtime.Apps;
using Nanobox.Node.Runtime.Docker;
using Nanobox.Node.Runtime.Spec;

namespace Nanobox.Node.Admin;

/// <summary>
/// /v1/apps, /v1/instances and /v1/logs: deploy, roll back, list, show and remove apps; every instance in the
/// cluster; a component's output. Every change is audited: one log line with who asked (the socket's peer uid),
/// the app, the version and any capability added back.
/// </summary>
public static partial class AppsApi
{
    /// <summary>How many instances a logs answer streams: the CLI prefixes lines with their instance when more than one.</summary>
    public const string InstancesHeader = "X-Nanobox-Instances";

    public static void MapAppsApi(this RouteGroupBuilder v1)
    {
        v1.MapPost("/apps", (AppDeployRequest request, AppDeployments apps, HttpContext context, CancellationToken ct) =>
            AuditedAsync(context, "deploy", request.File, async by =>
            {
                var done = await apps.DeployAsync(request.Spec, by, ct);
                return (done, done.Outcome == AppChangeResponse.Unchanged ? "" : CapAdd(apps.Show(done.App)));
            }));

        v1.MapGet("/apps", (AppDeployments apps) =>
            RunAsync(() => Task.FromResult(Results.Json(apps.List(), AdminJsonContext.Default.IReadOnlyListAppSummary))));

        v1.MapGet("/apps/{app}", (string app, AppDeployments apps) =>
            RunAsync(() => Task.FromResult(Results.Json(apps.Show(app), AdminJsonContext.Default.AppDetails))));

        v1.MapPost("/apps/{app}/rollback", (string app, AppRollbackRequest request, AppDeployments apps, HttpContext context, CancellationToken ct) =>
            AuditedAsync(context, "rollback", app, async by =>
            {
                var done = await apps.RollbackAsync(app, request.Version, by, ct);
                return (done, CapAdd(apps.Show(done.App)));
            }));

        v1.MapDelete("/apps/{app}", (string app, AppDeployments apps, HttpContext context, CancellationToken ct) =>
            AuditedAsync(context, "remove", app, async _ => (await apps.RemoveAsync(app, ct), "")));

        v1.MapGet("/instances", (ClusterInstances instances, CancellationToken ct) =>
            RunAsync(async () => Results.Json<IReadOnlyList<Runtime.Instances.InstanceRow>>(await instances.ListAsync(ct), AdminJsonContext.Default.IReadOnlyListInstanceRow)));

        v1.MapGet("/logs", (HttpContext context, AppLogs logs, string target, bool? follow, int? tail) => StreamLogsAsync(context, logs, target, follow, tail));
    }

    /// <summary>
    /// NDJSON, one <see cref="AppLogLine"/> per line, flushed as it comes (so `--follow` follows). A target
    /// that names nothing is a problem response before the first line.
    /// </summary>
    private static async Task StreamLogsAsync(HttpContext context, AppLogs logs, string target, bool? follow, int? tail)
    {
        IReadOnlyList<(Runtime.Placement.InstanceKey Key, string NodeId)> instances;
        try
        {
            if (tail is < 0)
            {
                throw new AppChangeRejectedException($"--tail {tail} is negative: give a number of lines, 0 or more");
            }

            instances = logs.Resolve(target);
        }
        catch (Exception ex) when (ex is AppChangeRejectedException or ClusterException)
        {
            await Problem(ex).ExecuteAsync(context);
            return;
        }

        context.Response.ContentType = NdjsonLines.ContentType;
        context.Response.Headers[InstancesHeader] = instances.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var options = new ContainerLogOptions { Follow = follow ?? false, Tail = tail };
        try
        {
            await foreach (var line in logs.ReadAsync(instances, options, context.RequestAborted))
            {
                await NdjsonLines.WriteAsync(context, writer => JsonSerializer.Serialize(writer, line, AdminJsonContext.Default.AppLogLine));
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The CLI went away (Ctrl-C on --follow).
        }
    }

    /// <summary>Runs a change, answers it, and writes the audit line, also for a refused change.</summary>
    private static async Task<IResult> AuditedAsync(HttpContext context, string action, string? subject, Func<string, Task<(AppChangeResponse Done, string CapAdd)>> change)
    {
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Nanobox.Audit");
        var by = AdminCaller.Describe(context);
        var result = await RunAsync(async () =>
        {
            var (done, capAdd) = await change(by);
            LogChanged(logger, action, done.App, done.Version, done.Outcome, by, capAdd.Length == 0 ? "none" : capAdd);
            return Results.Json(done, AdminJsonContext.Default.AppChangeResponse);
        });
        if (result is IStatusCodeHttpResult { StatusCode: >= 400 } refused && result is IValueHttpResult { Value: ProblemResponse problem })
        {
            LogRefused(logger, action, subject ?? "(spec)", refused.StatusCode ?? 0, by, problem.Detail);
        }

        return result;
    }

    /// <summary><c>web.main: NET_BIND_SERVICE</c> for each component that adds a capability back.</summary>
    private static string CapAdd(AppDetails app) =>
        string.Join("; ", app.Components.Where(c => c.CapAdd.Count > 0).Select(c => $"{c.Id}: {string.Join(", ", c.CapAdd)}"));

    private static async Task<IResult> RunAsync(Func<Task<IResult>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception ex) when (ex is AppSpecInvalidException or ImageUnavailableException or AppChangeRejectedException or ClusterException)
        {
            return Problem(ex);
        }
    }

    private static IResult Problem(Exception ex) => ex switch
    {
        AppSpecInvalidException invalid => Problems.Result(StatusCodes.Status422UnprocessableEntity, "Invalid app spec", invalid.Message, [.. invalid.Errors.Select(e => e.ToString())]),
        ImageUnavailableException => Problems.Result(StatusCodes.Status422UnprocessableEntity, "Image unavailable", ex.Message),
        ClusterException cluster => ClusterApi.Problem(cluster),
        _ => Problems.Result(StatusCodes.Status409Conflict, "Refused", ex.Message),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Audit: {Action} of app {App}: version {Version} {Outcome}, asked by {Caller}; cap_add: {CapAdd}")]
    private static partial void LogChanged(ILogger logger, string action, string app, int version, string outcome, string caller, string capAdd);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit: {Action} of {Subject} refused ({Status}), asked by {Caller}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string action, string subject, int status, string caller, string reason);
}
