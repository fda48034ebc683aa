namespace Nanobox.Node.Runtime;

/// <summary>Where images come from when this node's engine lacks one.</summary>
public interface IImageSource
{
    /// <summary>
    /// Resolves a spec's image (a tag like nanobox-lab/busybox:latest, or already a pin) to a pin: an image id
    /// (sha256:...) for a locally built/imported image, or repo@sha256 digest for a registry image. Looks in the
    /// local engine, then asks every reachable peer's engine (over mTLS), then tries a registry pull.
    /// </summary>
    /// <exception cref="ImageUnavailableException">
    /// Nothing has it; the message names the image and where it looked: "not in this node's engine, not on
    /// h2, h3 (h4 unreachable), and no registry answered: &lt;reason&gt;".
    /// </exception>
    Task<string> ResolvePinAsync(string image, CancellationToken cancellationToken);

    /// <summary>
    /// Makes sure the local engine holds the pinned image: nothing when it does; else copies it from a peer that
    /// has it (docker save on the peer, streamed over mTLS, docker load here; the loaded image id must equal the
    /// pin for id pins), else pulls it from a registry. Concurrent calls for the same pin share one copy.
    /// </summary>
    /// <exception cref="ImageUnavailableException">No peer could send it and no registry had it; the message says where it looked.</exception>
    Task EnsureLocalAsync(string pin, CancellationToken cancellationToken);
}

/// <summary>No engine (this node's, a peer's) and no registry could provide an image; the message says where it looked and why each failed.</summary>
public sealed class ImageUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
