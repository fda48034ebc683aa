using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nanobox.Node.Runtime;
using Nanobox.Node.Runtime.Distribution;
using Nanobox.Node.Runtime.Docker;

namespace Nanobox.Node.Admin;

/// <summary>
/// /v1/images: images on this node, fetched from members or a registry; and /v1/internal/logs, the log
/// stream of a container on any node (internal: for tests and tools, not a stable contract).
/// </summary>
public static class ImagesApi
{
    public static void MapImagesApi(this RouteGroupBuilder v1) =>
        v1.MapPost("/images/pull", async (ImagePullRequest request, ClusterImageSource images, CancellationToken ct) =>
        {
            var clock = Stopwatch.StartNew();
            try
            {
                var (pin, arrival) = await images.PullAsync(request.Image, ct);
                return Results.Json(
                    new ImagePullResponse(request.Image, pin, arrival.ImageId, arrival.Origin.ToString().ToLowerInvariant(), arrival.From, arrival.Bytes, Math.Round(clock.Elapsed.TotalSeconds, 3)),
                    AdminJsonContext.Default.ImagePullResponse);
            }
            catch (ArgumentException ex)
            {
                return Problems.Result(StatusCodes.Status400BadRequest, "Bad image reference", ex.Message);
            }
            catch (ImageUnavailableException ex)
            {
                return Problems.Result(StatusCodes.Status404NotFound, "Image unavailable", ex.Message);
            }
            catch (DockerEngineException ex)
            {
                return Problems.Result(StatusCodes.Status502BadGateway, "Docker engine failed", ex.Message);
            }
        });

    /// <summary>
    /// GET /v1/internal/logs?node=ID&amp;container=NAME[&amp;follow=true][&amp;tail=N]: newline-delimited JSON, one
    /// <see cref="LogLineResponse"/> per line, as they come; a failure after the first line ends the stream
    /// with a <see cref="LogStreamError"/> line.
    /// </summary>
    public static void MapInternalLogsApi(this RouteGroupBuilder v1) =>
        v1.MapGet("/internal/logs", async (HttpContext context, IInstanceLogs logs, string node, string container, bool? follow, int? tail) =>
        {
            var options = new ContainerLogOptions { Follow = follow ?? false, Tail = tail };
            var lines = logs.ReadAsync(node, container, options, context.RequestAborted).GetAsyncEnumerator(context.RequestAborted);
            await using (lines)
            {
                bool more;
                try
                {
                    more = await lines.MoveNextAsync();
                }
                catch (Exception ex) when (ex is DockerEngineException or IOException or TimeoutException)
                {
                    return ex is DockerEngineException { Unreachable: false }
                        ? Problems.Result(StatusCodes.Status404NotFound, "Cannot read the logs", ex.Message)
                        : Problems.Result(StatusCodes.Status502BadGateway, "Node or engine unreachable", ex.Message);
                }

                context.Response.ContentType = NdjsonLines.ContentType;
                try
                {
                    for (; more; more = await lines.MoveNextAsync())
                    {
                        var line = lines.Current;
                        var stream = line.Stream == ContainerLogStream.StandardError ? "stderr" : "stdout";
                        await NdjsonLines.WriteAsync(context, writer => JsonSerializer.Serialize(writer, new LogLineResponse(stream, line.Time, line.Text), AdminJsonContext.Default.LogLineResponse));
                    }
                }
                catch (Exception ex) when (ex is DockerEngineException or IOException or TimeoutException && !context.RequestAborted.IsCancellationRequested)
                {
                    await NdjsonLines.WriteAsync(context, writer => JsonSerializer.Serialize(writer, new LogStreamError(ex.Message), AdminJsonContext.Default.LogStreamError));
                }

                return Results.Empty;
            }
        });
}
