using Nanobox.Node.Runtime.Docker;

namespace Nanobox.Node.Runtime;

/// <summary>
/// Images from this node's own engine, else from a registry: what a node can do on its own. (Copying an image
/// from a peer's engine over the cluster's mTLS channel is the node-to-node data path's; it replaces this.)
/// </summary>
public sealed class LocalImageSource(DockerEngine docker) : IImageSource
{
    public async Task<string> ResolvePinAsync(string image, CancellationToken cancellationToken)
    {
        try
        {
            if (await docker.InspectImageAsync(image, cancellationToken) is null)
            {
                if (ImageReferences.IsImageId(image))
                {
                    throw new ImageUnavailableException(
                        $"image {image} is not in this node's engine ({docker.Endpoint}), and an image id cannot be pulled from a registry: load it here (`docker save` on a node that has it, `docker load` here)");
                }

                await docker.PullAsync(image, cancellationToken);
            }

            return await docker.ResolvePinAsync(image, cancellationToken);
        }
        catch (DockerEngineException ex)
        {
            throw new ImageUnavailableException($"image {image} is not in this node's engine ({docker.Endpoint}) and could not be pulled: {ex.Message}", ex);
        }
    }

    public async Task EnsureLocalAsync(string pin, CancellationToken cancellationToken)
    {
        try
        {
            if (await docker.InspectImageAsync(pin, cancellationToken) is not null)
            {
                return;
            }

            if (ImageReferences.IsImageId(pin))
            {
                throw new ImageUnavailableException(
                    $"image {pin} is not in this node's engine, and a locally built image (pinned by its id) cannot be pulled from a registry: load it here (`docker save` on a node that has it, `docker load` here)");
            }

            await docker.PullAsync(pin, cancellationToken);
        }
        catch (DockerEngineException ex)
        {
            throw new ImageUnavailableException($"image {pin} is not in this node's engine and could not be pulled: {ex.Message}", ex);
        }
    }
}
