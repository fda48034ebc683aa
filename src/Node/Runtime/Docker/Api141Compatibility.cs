using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Docker.DotNet.Handler.Abstractions;
using Microsoft.Extensions.Logging;

namespace Nanobox.Node.Runtime.Docker;

/// <summary>
/// Fills in the request fields that API 1.41 engines (docker.io 20.10) read but the client's models
/// (written for API 1.44+) no longer have. Pure, so the rewrite is unit-tested on its own:
/// <list type="bullet">
/// <item>container create: an engine before API 1.44 ignores the endpoint's MacAddress and honours only
/// the top-level <c>Config.MacAddress</c>, for the network named by <c>HostConfig.NetworkMode</c>; the
/// endpoint's value is copied there (newer engines, asked for API 1.41, move it back).</item>
/// <item>network create: <c>CheckDuplicate</c>, without which a 1.41 engine makes a second network of the same name.</item>
/// </list>
/// </summary>
internal static class Api141Compatibility
{
    public static readonly Version ApiVersion = new(1, 41);

    private const string ContainerCreate = "/containers/create";
    private const string NetworkCreate = "/networks/create";

    /// <summary>Only these bodies are read (others may be image tarballs).</summary>
    public static bool Applies(string path) =>
        path.EndsWith(ContainerCreate, StringComparison.Ordinal) || path.EndsWith(NetworkCreate, StringComparison.Ordinal);

    /// <summary>Rewrites <paramref name="body"/> in place for the request at <paramref name="path"/>; false if it needed nothing.</summary>
    public static bool Rewrite(string path, JsonObject body)
    {
        if (path.EndsWith(ContainerCreate, StringComparison.Ordinal))
        {
            if (body["MacAddress"] is not null
                || body["HostConfig"]?["NetworkMode"]?.GetValue<string>() is not { } network
                || body["NetworkingConfig"]?["EndpointsConfig"]?[network]?["MacAddress"]?.GetValue<string>() is not { Length: > 0 } mac)
            {
                return false;
            }

            body["MacAddress"] = mac;
            return true;
        }

        if (path.EndsWith(NetworkCreate, StringComparison.Ordinal))
        {
            body["CheckDuplicate"] = true;
            return true;
        }

        return false;
    }

    /// <summary>The client's Unix socket transport with the rewrite in front of it.</summary>
    public sealed class TransportFactory : IDockerHandlerFactory<global::Docker.DotNet.Unix.UnixSocketTransportOptions>
    {
        private static readonly IDockerHandlerFactory<global::Docker.DotNet.Unix.UnixSocketTransportOptions> Unix = global::Docker.DotNet.Unix.DockerHandlerFactory.Instance;

        public ResolvedTransport CreateHandler(global::Docker.DotNet.Unix.UnixSocketTransportOptions transportOptions, ResolvedClientOptions clientOptions, ILogger logger) =>
            Wrap(Unix.CreateHandler(transportOptions, clientOptions, logger));

        public ResolvedTransport CreateHandler(ResolvedClientOptions clientOptions, ILogger logger) =>
            Wrap(Unix.CreateHandler(clientOptions, logger));

        public Task<WriteClosableStream> HijackStreamAsync(HttpContent content) => Unix.HijackStreamAsync(content);

        private static ResolvedTransport Wrap(ResolvedTransport transport) =>
            transport with { Handler = new RequestRewriter { InnerHandler = transport.Handler } };
    }

    internal sealed class RequestRewriter : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Post && request.RequestUri is { } uri && Applies(uri.AbsolutePath) && request.Content is { } content
                && JsonNode.Parse(await content.ReadAsStringAsync(cancellationToken)) is JsonObject body
                && Rewrite(uri.AbsolutePath, body))
            {
                request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
