using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Runtime.Docker;

namespace Nanobox.Node.Runtime.Distribution;

/// <summary>Where an image this node now holds came from.</summary>
public enum ImageOrigin
{
    /// <summary>This node's engine already held it.</summary>
    Local,

    /// <summary>Copied from a member's engine over mutual TLS.</summary>
    Peer,

    /// <summary>Pulled from its registry.</summary>
    Registry,
}

/// <param name="ImageId">The image id in this node's engine.</param>
/// <param name="From">The member it was copied from.</param>
/// <param name="Bytes">The size of the archive copied.</param>
public sealed record ImageArrival(ImageOrigin Origin, string ImageId, string? From = null, long Bytes = 0);

/// <summary>
/// The agent's <see cref="IImageSource"/>: this node's engine first, then every member's engine (asked at once,
/// each within <see cref="DataPathLimits.FindTimeout"/>), then a registry. A copy is `docker save` on the member,
/// streamed over mutual TLS, `docker load` here; the loaded image must be the one asked for (an id pin must
/// load as that id; a digest pin as the id the member reported for it). A registry pin is pulled from its
/// registry before any member is asked: `docker load` keeps no registry digest, so a copied registry image is
/// known to this engine by its id only (and this source remembers that it holds it). Failures of this node's
/// own engine surface as <see cref="DockerEngineException"/>; everything else that leaves the image unavailable
/// as <see cref="ImageUnavailableException"/> naming where it looked.
/// </summary>
public sealed partial class ClusterImageSource(DockerEngine engine, IPeerNetwork network, ILoggerFactory loggerFactory) : IImageSource
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Nanobox.Distribution");
    private readonly SharedWork<string, ImageArrival> _fetches = new();

    // Registry pins copied from members: pin -> image id (see the class summary).
    private readonly ConcurrentDictionary<string, string> _copiedRegistryImages = new();

    /// <inheritdoc />
    public async Task<string> ResolvePinAsync(string image, CancellationToken cancellationToken) =>
        (await ResolveAsync(image, cancellationToken).ConfigureAwait(false)).Pin;

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="pin"/> is not a pin.</exception>
    public Task EnsureLocalAsync(string pin, CancellationToken cancellationToken) =>
        ImageNames.IsPin(pin)
            ? _fetches.RunAsync(pin, token => FetchAsync(pin, token), cancellationToken)
            : throw new ArgumentException($"'{pin}' is not a pin: resolve the image first (an image id sha256:ID or REPOSITORY@sha256:DIGEST)", nameof(pin));

    /// <summary>
    /// `nanobox image pull`: makes this node hold <paramref name="image"/> (resolved as <see cref="ResolvePinAsync"/>,
    /// fetched as <see cref="EnsureLocalAsync"/>). An image copied from a member is also tagged here with the
    /// name it was asked by, as `docker pull` would; nothing else is renamed (it was not here under that name).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="image"/> is not an image reference.</exception>
    public async Task<(string Pin, ImageArrival Arrival)> PullAsync(string image, CancellationToken cancellationToken)
    {
        var (pin, pulled) = await ResolveAsync(image, cancellationToken).ConfigureAwait(false);
        var arrival = await _fetches.RunAsync(pin, token => FetchAsync(pin, token), cancellationToken).ConfigureAwait(false);
        if (arrival.Origin == ImageOrigin.Peer && !ImageNames.IsPin(image))
        {
            await engine.TagImageAsync(arrival.ImageId, image, cancellationToken).ConfigureAwait(false);
        }

        return (pin, pulled ? arrival with { Origin = ImageOrigin.Registry } : arrival);
    }

    /// <returns>The pin, and whether resolving pulled the image from a registry into this node's engine.</returns>
    private async Task<(string Pin, bool Pulled)> ResolveAsync(string image, CancellationToken cancellationToken)
    {
        if (ImageNames.Refusal(image) is { } refusal)
        {
            throw new ArgumentException(refusal, nameof(image));
        }

        string? localProblem = null;
        try
        {
            if (await engine.InspectImageAsync(image, cancellationToken).ConfigureAwait(false) is not null)
            {
                return (await engine.ResolvePinAsync(image, cancellationToken).ConfigureAwait(false), false);
            }
        }
        catch (DockerEngineException e)
        {
            // A node without an engine can still resolve (and deploy) an image its peers hold.
            localProblem = e.Message;
        }

        var search = new ImageSearch(image, localProblem, await AskPeersAsync(image, cancellationToken).ConfigureAwait(false));
        switch (search.PinsFound.Count)
        {
            case 1:
                return (search.PinsFound[0].Key, false);
            case > 1:
                throw new ImageUnavailableException(search.DescribeAmbiguity());
        }

        if (ImageReferences.IsImageId(image) || localProblem is not null)
        {
            throw new ImageUnavailableException(search.Describe(localProblem is null ? "an image id cannot be pulled from a registry" : "no registry can be asked without an engine here"));
        }

        try
        {
            await engine.PullAsync(image, cancellationToken).ConfigureAwait(false);
            return (await engine.ResolvePinAsync(image, cancellationToken).ConfigureAwait(false), true);
        }
        catch (DockerEngineException e) when (!e.Unreachable)
        {
            throw new ImageUnavailableException(search.Describe($"no registry answered: {e.Message}"), e);
        }
    }

    private async Task<ImageArrival> FetchAsync(string pin, CancellationToken cancellationToken)
    {
        if (await HeldAsync(pin, cancellationToken).ConfigureAwait(false) is { } held)
        {
            return new ImageArrival(ImageOrigin.Local, held.Id);
        }

        string registry = "an image id cannot be pulled from a registry";
        if (ImageReferences.IsDigestPinned(pin))
        {
            try
            {
                await engine.PullAsync(pin, cancellationToken).ConfigureAwait(false);
                var pulled = await engine.InspectImageAsync(pin, cancellationToken).ConfigureAwait(false)
                    ?? throw new DockerEngineException($"the engine pulled {pin} but does not know it by that name");
                return new ImageArrival(ImageOrigin.Registry, pulled.Id);
            }
            catch (DockerEngineException e) when (!e.Unreachable)
            {
                registry = $"no registry answered: {e.Message}";
            }
        }

        var search = new ImageSearch(pin, null, await AskPeersAsync(pin, cancellationToken).ConfigureAwait(false));
        foreach (var holder in search.Holders.OrderBy(_ => Random.Shared.Next()).ToList())
        {
            try
            {
                return await CopyAsync(holder.Member, pin, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or TimeoutException or InvalidDataException or DockerEngineException { Unreachable: false })
            {
                LogCopyFailed(_logger, pin, holder.Member.Name, e.Message);
                search = search.WithCopyFailure(holder.Member, e);
            }
        }

        throw new ImageUnavailableException(search.Describe(registry));
    }

    private async Task<ImageDetails?> HeldAsync(string pin, CancellationToken cancellationToken) =>
        await engine.InspectImageAsync(pin, cancellationToken).ConfigureAwait(false)
        ?? (_copiedRegistryImages.TryGetValue(pin, out var id) ? await engine.InspectImageAsync(id, cancellationToken).ConfigureAwait(false) : null);

    /// <summary>Asks every other member at once whether its engine holds <paramref name="image"/>; null while standalone.</summary>
    private async Task<IReadOnlyList<PeerAnswer>?> AskPeersAsync(string image, CancellationToken cancellationToken)
    {
        if (network.Peers() is not { } view)
        {
            return null;
        }

        return await Task.WhenAll(view.Others.Select(async member =>
        {
            try
            {
                var found = await Cluster.Join.Deadline.RunAsync(DataPathLimits.FindTimeout, "no answer",
                    token => PeerDataClient.FindImageAsync(view.Security, view.RequestsEndPoint(member), member.Name, image, token), cancellationToken).ConfigureAwait(false);
                return found is null ? new PeerAnswer(member, PeerAnswerKind.Lacks) : new PeerAnswer(member, PeerAnswerKind.Has, found);
            }
            catch (Exception e) when (e is IOException or TimeoutException or InvalidDataException or DockerEngineException)
            {
                return PeerAnswer.FromFailure(member, e);
            }
        })).ConfigureAwait(false);
    }

    private async Task<ImageArrival> CopyAsync(ClusterMember member, string pin, CancellationToken cancellationToken)
    {
        var view = network.Peers() ?? throw new IOException("this node is no longer in a cluster");
        var clock = Stopwatch.StartNew();
        var (image, archive) = await PeerDataClient.OpenExportAsync(view.Security, view.RequestsEndPoint(member), member.Name, pin, cancellationToken).ConfigureAwait(false)
            ?? throw new IOException("it no longer has the image");
        IReadOnlyList<string> loaded;
        await using (archive.ConfigureAwait(false))
        {
            try
            {
                loaded = await engine.ImportImageAsync(archive, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (archive.Failure is { } broken && e is not OperationCanceledException)
            {
                // The engine saw its request body break; the cause is the member's stream.
                throw new IOException(broken.Message, broken);
            }
        }

        // An id pin must load as itself; for a registry pin the member's word on its id is all there is.
        var expected = ImageReferences.IsImageId(pin) ? pin : image.Id;
        if (loaded.Any(l => ImageReferences.IsImageId(l) && l != expected) || await engine.InspectImageAsync(expected, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new InvalidDataException($"{member.Name} sent {string.Join(", ", loaded)} rather than {expected}; it was loaded but is not used");
        }

        if (!ImageReferences.IsImageId(pin) && await engine.InspectImageAsync(pin, cancellationToken).ConfigureAwait(false) is null)
        {
            _copiedRegistryImages[pin] = expected;
        }

        LogCopied(_logger, pin, member.Name, archive.BytesRead, clock.ElapsedMilliseconds);
        return new ImageArrival(ImageOrigin.Peer, expected, member.Name, archive.BytesRead);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Copied image {Pin} from {Member}: {Bytes} bytes in {ElapsedMs} ms")]
    private static partial void LogCopied(ILogger logger, string pin, string member, long bytes, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not copy image {Pin} from {Member}: {Reason}")]
    private static partial void LogCopyFailed(ILogger logger, string pin, string member, string reason);
}
