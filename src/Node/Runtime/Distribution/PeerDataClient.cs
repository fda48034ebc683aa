using System.Runtime.CompilerServices;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Cluster.Join;
using Nanobox.Node.Runtime.Docker;
using Nanobox.Node.Security;

namespace Nanobox.Node.Runtime.Distribution;

/// <summary>
/// The asking side of <see cref="PeerDataServer"/>: one mutual-TLS connection per request to a member's
/// request port. Failures say which member: <see cref="DockerEngineException"/> when the member's engine
/// refused or failed, <see cref="IOException"/> (or <see cref="TimeoutException"/>) when the member could
/// not be reached, refused this node, or its stream broke off.
/// </summary>
internal static class PeerDataClient
{
    /// <returns>The member's pin and id for <paramref name="image"/>, or null when its engine does not hold it.</returns>
    public static async Task<PeerImage?> FindImageAsync(IStreamSecurity security, ControlPeer peer, string peerName, string image, CancellationToken cancellationToken)
    {
        var (connection, response) = await OpenAsync(security, peer, peerName, new ControlRequest(ControlRequestKind.FindImage, null, 0, Image: image), cancellationToken).ConfigureAwait(false);
        await connection.DisposeAsync().ConfigureAwait(false);
        return response.Outcome == ControlOutcome.NotFound ? null : response.Image ?? throw new InvalidDataException($"{peerName} answered without the image");
    }

    /// <summary>Asks <paramref name="peer"/> for `docker save` of <paramref name="pin"/>.</summary>
    /// <returns>What the member sends (pin and image id) and its archive; null when its engine does not hold it. Dispose the archive.</returns>
    public static async Task<(PeerImage Image, ArchiveReadStream Archive)?> OpenExportAsync(IStreamSecurity security, ControlPeer peer, string peerName, string pin, CancellationToken cancellationToken)
    {
        var (connection, response) = await OpenAsync(security, peer, peerName, new ControlRequest(ControlRequestKind.ExportImage, null, 0, Image: pin), cancellationToken).ConfigureAwait(false);
        if (response.Outcome == ControlOutcome.NotFound || response.Image is not { } image)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            return response.Outcome == ControlOutcome.NotFound ? null : throw new InvalidDataException($"{peerName} answered without the image");
        }

        return (image, new ArchiveReadStream(connection, peerName, DataPathLimits.MaxImageBytes, DataPathLimits.IdleTimeout));
    }

    /// <summary>The lines of <paramref name="container"/> on <paramref name="peer"/>, as they come.</summary>
    public static async IAsyncEnumerable<ContainerLogLine> ReadLogsAsync(
        IStreamSecurity security, ControlPeer peer, string peerName, string container, ContainerLogOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var request = new ControlRequest(ControlRequestKind.ReadLogs, null, 0, Container: container, Logs: options);
        var (connection, _) = await OpenAsync(security, peer, peerName, request, cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            while (true)
            {
                var frame = await Deadline.RunAsync(DataPathLimits.IdleTimeout, $"nothing came from {peerName}",
                    token => ControlFraming.ReadAsync(connection, DistributionJsonContext.Default.LogFrame, token), cancellationToken).ConfigureAwait(false)
                    ?? throw new EndOfStreamException($"the log stream from {peerName} broke off");
                if (frame.Error is { } error)
                {
                    throw new DockerEngineException($"{peerName}: {error}");
                }

                foreach (var line in frame.Lines)
                {
                    yield return line;
                }

                if (frame.End)
                {
                    yield break;
                }
            }
        }
    }

    /// <summary>Connects, sends <paramref name="request"/> and reads the response, within <see cref="DataPathLimits.OpenTimeout"/>.</summary>
    /// <returns>The connection (the caller's to dispose) and an Ok or NotFound response.</returns>
    private static async Task<(Stream Connection, ControlResponse Response)> OpenAsync(IStreamSecurity security, ControlPeer peer, string peerName, ControlRequest request, CancellationToken cancellationToken)
    {
        Stream connection;
        try
        {
            connection = await Deadline.RunAsync(DataPathLimits.OpenTimeout, $"no connection to {peerName}", token => ControlClient.ConnectAsync(security, peer, token), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException or TimeoutException)
        {
            throw new IOException($"cannot reach {peerName} at {peer.RequestsEndPoint}: {e.Message}", e);
        }

        try
        {
            var response = await Deadline.RunAsync(DataPathLimits.OpenTimeout, $"no answer from {peerName}", async token =>
            {
                await ControlFraming.WriteAsync(connection, request, ConsensusJsonContext.Default.ControlRequest, token).ConfigureAwait(false);
                return await ControlFraming.ReadAsync(connection, ConsensusJsonContext.Default.ControlResponse, token).ConfigureAwait(false)
                    ?? throw new EndOfStreamException($"{peerName} closed the connection without answering");
            }, cancellationToken).ConfigureAwait(false);
            return response.Outcome is ControlOutcome.Ok or ControlOutcome.NotFound
                ? (connection, response)
                : throw new DockerEngineException($"{peerName}: {response.Message ?? response.Outcome.ToString()}");
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
