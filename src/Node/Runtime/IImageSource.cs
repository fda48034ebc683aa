namespace Nanobox.Node.Runtime;

/// <summary>Where a node finds the images its app components run: its own engine, its peers, a registry.</summary>
public interface IImageSource
{
    /// Resolves a spec's image (tag or pin) to a pin (image id sha256:... for local images, repo@digest for registry
    /// ones): local engine, then peers, then a registry. Throws ImageUnavailableException naming where it looked.
    Task<string> ResolvePinAsync(string image, CancellationToken cancellationToken);

    /// Makes sure the local engine holds the pinned image (copy from a peer, else pull).
    Task EnsureLocalAsync(string pin, CancellationToken cancellationToken);
}

/// <summary>No source has the image; the message names where the node looked and what to do.</summary>
public sealed class ImageUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
