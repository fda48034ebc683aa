using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Runtime.Docker;

namespace Nanobox.Node.Runtime.Distribution;

/// <summary>
/// Answers members' image and log requests on the request port from this node's engine: whether it holds an
/// image, `docker save` of a pinned image it holds (as archive chunks), and the log lines of the agent's own
/// containers (<see cref="DockerEngine"/> refuses any other). Only members get here (mutual TLS, revoked
/// nodes refused); a malformed request gets an error response and changes nothing; at most
/// <see cref="DataPathLimits.MaxConcurrentExports"/> exports run at once. When the member goes away, the
/// engine call serving it is cancelled.
/// </summary>
public sealed partial class PeerDataServer(DockerEngine engine, ILoggerFactory loggerFactory) : IPeerDataHandler, IDisposable
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Nanobox.Distribution");
    private readonly SemaphoreSlim _exports = new(DataPathLimits.MaxConcurrentExports, DataPathLimits.MaxConcurrentExports);

    bool IPeerDataHandler.Handles(ControlRequestKind kind) => kind is ControlRequestKind.FindImage or ControlRequestKind.ExportImage or ControlRequestKind.ReadLogs;

    async Task<bool> IPeerDataHandler.ServeAsync(ControlRequest request, string peerNodeId, Stream connection, CancellationToken cancellationToken)
    {
        try
        {
            switch (request.Kind)
            {
                case ControlRequestKind.FindImage:
                    await RespondAsync(connection, await FindAsync(request.Image, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
                    return true;
                case ControlRequestKind.ExportImage:
                    await WhileConnectedAsync(connection, token => ExportAsync(request.Image, peerNodeId, connection, token), cancellationToken).ConfigureAwait(false);
                    return false;
                default:
                    await WhileConnectedAsync(connection, token => SendLogsAsync(request, peerNodeId, connection, token), cancellationToken).ConfigureAwait(false);
                    return false;
            }
        }
        catch (Exception e) when (e is IOException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // The member went away or stopped reading: nothing to answer any more.
            LogStreamDropped(_logger, request.Kind, peerNodeId, e.Message);
            return false;
        }
    }

    private async Task<ControlResponse> FindAsync(string? image, CancellationToken cancellationToken)
    {
        if (ImageNames.Refusal(image) is { } refusal)
        {
            return Error(refusal);
        }

        try
        {
            return await engine.InspectImageAsync(image!, cancellationToken).ConfigureAwait(false) is { } details
                ? new ControlResponse(ControlOutcome.Ok, null, null, Image: new PeerImage(await engine.ResolvePinAsync(image!, cancellationToken).ConfigureAwait(false), details.Id))
                : new ControlResponse(ControlOutcome.NotFound, null, $"image {image} is not in this node's engine");
        }
        catch (DockerEngineException e)
        {
            return Error(e.Message);
        }
    }

    private async Task ExportAsync(string? pin, string peerNodeId, Stream connection, CancellationToken cancellationToken)
    {
        if (!ImageNames.IsPin(pin))
        {
            await RespondAsync(connection, Error(ImageNames.Refusal(pin) ?? $"'{pin}' is not pinned: an export names an image id (sha256:ID) or REPOSITORY@sha256:DIGEST"), cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!await _exports.WaitAsync(DataPathLimits.ExportSlotWait, cancellationToken).ConfigureAwait(false))
        {
            await RespondAsync(connection, Error($"this node is already sending {DataPathLimits.MaxConcurrentExports} images; ask another node or try again"), cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            ImageDetails? details;
            Stream archive;
            try
            {
                details = await engine.InspectImageAsync(pin!, cancellationToken).ConfigureAwait(false);
                if (details is null)
                {
                    await RespondAsync(connection, new ControlResponse(ControlOutcome.NotFound, null, $"image {pin} is not in this node's engine"), cancellationToken).ConfigureAwait(false);
                    return;
                }

                archive = await engine.ExportImageAsync(pin!, cancellationToken).ConfigureAwait(false);
            }
            catch (DockerEngineException e)
            {
                await RespondAsync(connection, Error(e.Message), cancellationToken).ConfigureAwait(false);
                return;
            }

            await using (archive.ConfigureAwait(false))
            {
                await RespondAsync(connection, new ControlResponse(ControlOutcome.Ok, null, null, Image: new PeerImage(pin!, details.Id)), cancellationToken).ConfigureAwait(false);
                var clock = Stopwatch.StartNew();
                LogExportStarted(_logger, pin!, peerNodeId);
                var sent = await SendArchiveAsync(archive, connection, cancellationToken).ConfigureAwait(false);
                LogExported(_logger, pin!, peerNodeId, sent, clock.ElapsedMilliseconds);
            }
        }
        finally
        {
            _exports.Release();
        }
    }

    /// <returns>The archive's size.</returns>
    private async Task<long> SendArchiveAsync(Stream archive, Stream connection, CancellationToken cancellationToken)
    {
        var frame = new byte[4 + DataPathLimits.ArchiveChunkBytes];
        long sent = 0;
        while (true)
        {
            int read;
            try
            {
                read = await Heartbeats.AwaitAsync(
                    archive.ReadAsync(frame.AsMemory(4), cancellationToken).AsTask(),
                    DataPathLimits.Heartbeat,
                    token => ArchiveFraming.WriteMarkerAsync(connection, ArchiveFraming.Heartbeat, token),
                    cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                // The engine's stream broke, not the member's: tell the member why.
                await ArchiveFraming.WriteFailureAsync(connection, $"the Docker engine's export broke off after {sent} bytes: {e.Message}", cancellationToken).ConfigureAwait(false);
                throw new IOException($"the engine's export broke off: {e.Message}", e);
            }

            if (read == 0)
            {
                await ArchiveFraming.WriteMarkerAsync(connection, ArchiveFraming.End, cancellationToken).ConfigureAwait(false);
                return sent;
            }

            sent += read;
            if (sent > DataPathLimits.MaxImageBytes)
            {
                await ArchiveFraming.WriteFailureAsync(connection, $"the image is larger than {DataPathLimits.MaxImageBytes >> 20} MiB, the limit for an image copied between nodes; use a registry", cancellationToken).ConfigureAwait(false);
                throw new IOException("the image is larger than the copy limit");
            }

            await ArchiveFraming.WriteChunkAsync(connection, frame.AsMemory(0, 4 + read), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task SendLogsAsync(ControlRequest request, string peerNodeId, Stream connection, CancellationToken cancellationToken)
    {
        var options = request.Logs ?? new ContainerLogOptions();
        var refusal = ImageNames.ContainerRefusal(request.Container) ?? (options.Tail is < 0 ? "tail must be 0 or more lines" : null);
        if (refusal is not null)
        {
            await RespondAsync(connection, Error(refusal), cancellationToken).ConfigureAwait(false);
            return;
        }

        var name = request.Container!;
        try
        {
            // Refuses a container that is not the agent's own; checked before saying yes.
            if (await engine.InspectAsync(name, cancellationToken).ConfigureAwait(false) is null)
            {
                await RespondAsync(connection, Error($"this node has no container {name}"), cancellationToken).ConfigureAwait(false);
                return;
            }
        }
        catch (DockerEngineException e)
        {
            await RespondAsync(connection, Error(e.Message), cancellationToken).ConfigureAwait(false);
            return;
        }

        await RespondAsync(connection, new ControlResponse(ControlOutcome.Ok, null, null), cancellationToken).ConfigureAwait(false);
        LogLogsStarted(_logger, name, peerNodeId, options.Follow);
        LogFrame last;
        try
        {
            await SendLinesAsync(token => engine.ReadLogsAsync(name, options, token), connection, cancellationToken).ConfigureAwait(false);
            last = new LogFrame([], End: true);
        }
        catch (DockerEngineException e)
        {
            last = new LogFrame([], Error: e.Message);
        }

        await WriteLogFrameAsync(connection, last, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lines in batches of what the engine has ready; heartbeats while it has nothing.</summary>
    private static async Task SendLinesAsync(Func<CancellationToken, IAsyncEnumerable<ContainerLogLine>> read, Stream connection, CancellationToken cancellationToken)
    {
        var batch = new LogBatch();
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var enumerator = read(reading.Token).GetAsyncEnumerator(reading.Token);
        // A Task, not the ValueTask: when the member leaves mid-wait it is still running, and must end before the dispose.
        var next = enumerator.MoveNextAsync().AsTask();
        try
        {
            while (true)
            {
                if (!next.IsCompleted && batch.Count > 0)
                {
                    // The engine has nothing more ready: what came so far goes out before the wait.
                    await WriteLogFrameAsync(connection, batch.Take(), cancellationToken).ConfigureAwait(false);
                }

                if (!await Heartbeats.AwaitAsync(next, DataPathLimits.Heartbeat, token => WriteLogFrameAsync(connection, LogFrame.Heartbeat, token), cancellationToken).ConfigureAwait(false))
                {
                    break;
                }

                batch.Add(enumerator.Current);
                if (batch.IsFull)
                {
                    await WriteLogFrameAsync(connection, batch.Take(), cancellationToken).ConfigureAwait(false);
                }

                next = enumerator.MoveNextAsync().AsTask();
            }
        }
        finally
        {
            // A write that failed leaves the engine read waiting for a line that may never come: end it first.
            await reading.CancelAsync().ConfigureAwait(false);
            await ((Task)next).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await enumerator.DisposeAsync().ConfigureAwait(false);
        }

        if (batch.Count > 0)
        {
            await WriteLogFrameAsync(connection, batch.Take(), cancellationToken).ConfigureAwait(false);
        }
    }

    private static Task WriteLogFrameAsync(Stream connection, LogFrame frame, CancellationToken cancellationToken) =>
        Cluster.Join.Deadline.RunAsync(DataPathLimits.WriteStallTimeout, "the member did not take the log stream",
            token => ControlFraming.WriteAsync(connection, frame, DistributionJsonContext.Default.LogFrame, token), cancellationToken);

    private static Task RespondAsync(Stream connection, ControlResponse response, CancellationToken cancellationToken) =>
        ControlFraming.WriteAsync(connection, response, ConsensusJsonContext.Default.ControlResponse, cancellationToken);

    private static ControlResponse Error(string message) => new(ControlOutcome.Error, null, message);

    /// <summary>
    /// Runs a stream's work with a token that also fires when the member closes the connection (it sends
    /// nothing after its request, so any read completing means it is gone), so an engine call serving a
    /// member that left is cancelled at once rather than at the next write.
    /// </summary>
    private static async Task WhileConnectedAsync(Stream connection, Func<CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        using var connected = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watch = CancelWhenClosedAsync(connection, connected);
        try
        {
            await work(connected.Token).ConfigureAwait(false);
        }
        finally
        {
            await connected.CancelAsync().ConfigureAwait(false);
            await watch.ConfigureAwait(false);
        }
    }

    private static async Task CancelWhenClosedAsync(Stream connection, CancellationTokenSource connected)
    {
        try
        {
            await connection.ReadAsync(new byte[1], connected.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Closed, reset or cancelled: either way the watch is over.
        }

        await connected.CancelAsync().ConfigureAwait(false);
    }

    public void Dispose() => _exports.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Sending image {Pin} to member {Peer}")]
    private static partial void LogExportStarted(ILogger logger, string pin, string peer);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sent image {Pin} to member {Peer}: {Bytes} bytes in {ElapsedMs} ms")]
    private static partial void LogExported(ILogger logger, string pin, string peer, long bytes, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Streaming the logs of {Container} to member {Peer} (follow: {Follow})")]
    private static partial void LogLogsStarted(ILogger logger, string container, string peer, bool follow);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Kind} for member {Peer} ended early: {Reason}")]
    private static partial void LogStreamDropped(ILogger logger, ControlRequestKind kind, string peer, string reason);
}
