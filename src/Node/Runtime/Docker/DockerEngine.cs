using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Docker.DotNet;
using Docker.DotNet.Handler.Abstractions;
using Docker.DotNet.Models;
using Docker.DotNet.Unix;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NodeIds = Nanobox.Node.Cluster.Membership.NodeId;

namespace Nanobox.Node.Runtime.Docker;

/// <summary>
/// The agent's only way into its host's Docker engine, over the engine's Unix socket at API 1.41.
/// It sees and touches only this node's objects: containers and networks labelled
/// <see cref="ContainerLabels.Managed"/> and this node's id; anything else on the engine is invisible
/// to listing and refused by every call that would change it. Engine failures surface as
/// <see cref="DockerEngineException"/> saying what failed and what to check.
/// </summary>
public sealed partial class DockerEngine : IDisposable
{
    private readonly DockerClient _client;
    private readonly TimeSpan _requestTimeout;
    private readonly ILogger _logger;
    // A leaf gate: only this engine's own Docker API calls run under it.
    private readonly SemaphoreSlim _networkGate = new(1, 1);

    /// <exception cref="Host.ConfigException">The endpoint is not <c>unix:///PATH</c>.</exception>
    public DockerEngine(DockerEngineOptions options, ILoggerFactory loggerFactory)
    {
        Endpoint = DockerEndpoint.Parse(options.Endpoint);
        NodeId = NodeIds.Require(options.NodeId, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.RequestTimeout, TimeSpan.Zero, nameof(options));
        _requestTimeout = options.RequestTimeout;
        _logger = loggerFactory.CreateLogger("Nanobox.Docker");
        _client = new DockerClientBuilder<UnixSocketTransportOptions>(
            new Api141Compatibility.TransportFactory(),
            new UnixSocketTransportOptions(),
            new ClientOptions { Endpoint = Endpoint.Uri, ApiVersion = Api141Compatibility.ApiVersion, Timeout = options.RequestTimeout },
            NullLogger.Instance).Build();
    }

    public DockerEndpoint Endpoint { get; }

    public string NodeId { get; }

    /// <summary>Checks the engine answers and speaks API 1.41.</summary>
    public async Task<DockerEngineVersion> PingAsync(CancellationToken cancellationToken)
    {
        var version = await CallAsync("asking the Docker engine for its version", (c, t) => c.System.GetVersionAsync(t), cancellationToken);
        var api = Api141Compatibility.ApiVersion;
        if (!System.Version.TryParse(version.APIVersion, out var max) || max < api || (System.Version.TryParse(version.MinAPIVersion, out var min) && min > api))
        {
            throw new DockerEngineException($"the Docker engine at {Endpoint} ({version.Version}) speaks API {version.MinAPIVersion} to {version.APIVersion}; the agent needs API {api} (Docker 20.10 or a later engine that still accepts it)");
        }

        return new DockerEngineVersion(version.Version ?? "", version.APIVersion ?? "", version.MinAPIVersion ?? "", version.Os ?? "", version.Arch ?? "", version.KernelVersion ?? "");
    }

    /// <summary>This node's containers, running or not; nothing else on the engine.</summary>
    public async Task<IReadOnlyList<ManagedContainer>> ListAsync(CancellationToken cancellationToken)
    {
        var listed = await CallAsync(
            "listing this node's containers",
            (c, t) => c.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = ContainerLabels.OwnedBy(NodeId) }, t),
            cancellationToken);
        var containers = new List<ManagedContainer>(listed.Count);
        foreach (var summary in listed.Where(s => ContainerLabels.AreOwnedBy(s.Labels, NodeId)))
        {
            // Removed between the list and the inspect: no longer there to report.
            if (await InspectContainerOrNullAsync(summary.ID, cancellationToken) is { } inspected)
            {
                containers.Add(ToManaged(inspected));
            }
        }

        return containers;
    }

    /// <summary>One of this node's containers by name or id; null if there is none.</summary>
    /// <exception cref="DockerEngineException">It exists but is not this node's: it is left alone.</exception>
    public async Task<ManagedContainer?> InspectAsync(string nameOrId, CancellationToken cancellationToken) =>
        await InspectOwnedAsync(nameOrId, cancellationToken) is { } container ? ToManaged(container) : null;

    /// <summary>
    /// Creates the plan's container with the lockdown of <see cref="ContainerSpecBuilder"/> and starts it.
    /// The image must already be on this node. A container that fails to start is removed again.
    /// </summary>
    /// <exception cref="ContainerPlanException">The plan is refused (lockdown, another node's, an image VOLUME not covered by its dirs).</exception>
    /// <exception cref="DockerEngineException">The engine refused or failed (e.g. the name is taken, a host dir is missing).</exception>
    public async Task<ManagedContainer> CreateAndStartAsync(ContainerPlan plan, CancellationToken cancellationToken)
    {
        var parameters = ContainerSpecBuilder.Build(plan);
        var name = ContainerSpecBuilder.ContainerName(plan.App, plan.Component, plan.Instance);
        if (plan.NodeId != NodeId)
        {
            throw new ContainerPlanException(name, [$"it is planned for node {plan.NodeId}; this is node {NodeId}"]);
        }

        var image = await InspectImageAsync(plan.Image, cancellationToken) ?? throw NotOnThisNode(plan.Image);
        // An image's VOLUME would become a writable anonymous volume beside the read-only root.
        var uncovered = image.Volumes.Where(v => !plan.WritableDirectories.ContainsKey(v) && !plan.NetworkDirectories.ContainsKey(v)).ToList();
        if (uncovered.Count > 0)
        {
            throw new ContainerPlanException(name, [$"image {plan.Image} declares VOLUME {string.Join(", ", uncovered)}, which would be writable: list it under writable_dirs or network_dirs"]);
        }

        var created = await CallAsync($"creating container {name}", (c, t) => c.Containers.CreateContainerAsync(parameters, t), cancellationToken);
        try
        {
            await CallAsync($"starting container {name}", (c, t) => c.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), t), cancellationToken);
        }
        catch (Exception ex) when (ex is DockerEngineException or OperationCanceledException)
        {
            LogStartFailed(_logger, name, ex.Message);
            await RemoveCreatedAsync(created.ID, name);
            throw;
        }

        LogStarted(_logger, name, created.ID, plan.Image);
        return await InspectAsync(created.ID, cancellationToken)
            ?? throw new DockerEngineException($"container {name} was removed by someone else right after it started");
    }

    /// <summary>Starts one of this node's containers again after it exited (same container: its id, address and writable layer stay).</summary>
    /// <exception cref="DockerEngineException">It is not this node's, it is gone, or the engine failed.</exception>
    public async Task<ManagedContainer> StartAgainAsync(string nameOrId, CancellationToken cancellationToken)
    {
        var container = await InspectOwnedAsync(nameOrId, cancellationToken)
            ?? throw new DockerEngineException($"starting {nameOrId} again failed: this node has no such container");
        var name = NameOf(container);
        await CallAsync($"starting container {name} again", (c, t) => c.Containers.StartContainerAsync(container.ID, new ContainerStartParameters(), t), cancellationToken);
        LogStartedAgain(_logger, name, container.ID);
        return await InspectAsync(container.ID, cancellationToken)
            ?? throw new DockerEngineException($"container {name} was removed by someone else right after it started");
    }

    /// <summary>Stops one of this node's containers (SIGTERM, SIGKILL after <paramref name="stopTimeout"/>) and removes it; false if it was not there.</summary>
    /// <exception cref="DockerEngineException">It is not this node's (left alone), or the engine failed.</exception>
    public async Task<bool> StopAndRemoveAsync(string nameOrId, TimeSpan stopTimeout, CancellationToken cancellationToken)
    {
        if (stopTimeout < TimeSpan.Zero || stopTimeout > _requestTimeout - TimeSpan.FromSeconds(5))
        {
            throw new ArgumentOutOfRangeException(nameof(stopTimeout), stopTimeout, $"give 0 to {(_requestTimeout - TimeSpan.FromSeconds(5)).TotalSeconds:0} s (the request timeout less 5 s)");
        }

        if (await InspectOwnedAsync(nameOrId, cancellationToken) is not { } container)
        {
            return false;
        }

        var name = NameOf(container);
        if (container.State?.Running == true)
        {
            await CallAsync(
                $"stopping container {name}",
                (c, t) => c.Containers.StopContainerAsync(container.ID, new ContainerStopParameters { WaitBeforeKillSeconds = (uint)stopTimeout.TotalSeconds }, t),
                cancellationToken);
        }

        await CallAsync($"removing container {name}", (c, t) => IgnoreNotFound(c.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, t)), cancellationToken);
        LogRemoved(_logger, name, container.ID);
        return true;
    }

    /// <summary>
    /// A container's output as lines, stdout and stderr apart, each with the engine's timestamp. With
    /// <see cref="ContainerLogOptions.Follow"/> it goes on until the container stops or the token fires.
    /// </summary>
    public async IAsyncEnumerable<ContainerLogLine> ReadLogsAsync(string nameOrId, ContainerLogOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var container = await InspectOwnedAsync(nameOrId, cancellationToken)
            ?? throw new DockerEngineException($"reading the logs of {nameOrId} failed: this node has no such container");
        var what = $"reading the logs of {NameOf(container)}";
        var parameters = new ContainerLogsParameters
        {
            ShowStdout = true,
            ShowStderr = true,
            Timestamps = true,
            Follow = options.Follow,
            Since = options.Since is { } since ? $"{since.ToUnixTimeSeconds()}.{since.ToUnixTimeMilliseconds() % 1000 * 1_000_000:D9}" : null,
            Tail = options.Tail is { } tail ? tail.ToString(System.Globalization.CultureInfo.InvariantCulture) : "all",
        };
        using var stream = await CallAsync(what, (c, t) => c.Containers.GetContainerLogsAsync(container.ID, parameters, t), cancellationToken);
        var splitter = new LogLineSplitter();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var read = await CallAsync(what, (_, t) => stream.ReadOutputAsync(buffer, 0, buffer.Length, t), cancellationToken);
            if (read.EOF)
            {
                break;
            }

            var target = read.Target == MultiplexedStream.TargetStream.StandardError ? ContainerLogStream.StandardError : ContainerLogStream.StandardOutput;
            foreach (var line in splitter.Add(target, buffer.AsSpan(0, read.Count)))
            {
                yield return line;
            }
        }

        foreach (var line in splitter.Flush())
        {
            yield return line;
        }
    }

    /// <summary>An image in this engine by id or reference; null if it is not here.</summary>
    public Task<ImageDetails?> InspectImageAsync(string reference, CancellationToken cancellationToken) =>
        CallAsync($"inspecting image {reference}", async (c, t) =>
        {
            try
            {
                var image = await c.Images.InspectImageAsync(reference, t);
                return new ImageDetails(
                    image.ID,
                    [.. image.RepoTags ?? []],
                    [.. image.RepoDigests ?? []],
                    [.. (image.Config?.Volumes?.Keys ?? []).Select(v => v.Length > 1 ? v.TrimEnd('/') : v)]);
            }
            catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
        }, cancellationToken);

    /// <summary>
    /// The pinned form of an image in this engine: its registry digest (<c>repository@sha256:…</c>)
    /// when it came from a registry, else its image id (a locally imported or built image has no digest).
    /// </summary>
    /// <exception cref="DockerEngineException">The image is not in this engine.</exception>
    public async Task<string> ResolvePinAsync(string reference, CancellationToken cancellationToken)
    {
        var image = await InspectImageAsync(reference, cancellationToken) ?? throw NotOnThisNode(reference);
        if (ImageReferences.IsImageId(reference))
        {
            return image.Id;
        }

        if (ImageReferences.IsDigestPinned(reference))
        {
            return reference;
        }

        var repository = ImageReferences.Repository(reference);
        return image.RepoDigests.FirstOrDefault(d => ImageReferences.Repository(d) == repository)
            ?? image.RepoDigests.FirstOrDefault()
            ?? image.Id;
    }

    /// <summary>Pulls an image from its registry.</summary>
    /// <exception cref="DockerEngineException">No registry answered, or it refused; the message says to copy the image from a node instead.</exception>
    public async Task PullAsync(string reference, CancellationToken cancellationToken)
    {
        var (repository, tagOrDigest) = ImageReferences.Split(reference);
        var messages = new EngineMessages();
        var what = $"pulling {reference}";
        const string Fix = "is a registry reachable from this node? Otherwise copy the image from a node that has it";
        try
        {
            await CallAsync(what, (c, t) => c.Images.CreateImageAsync(new ImagesCreateParameters { FromImage = repository, Tag = tagOrDigest }, null, messages, t), cancellationToken);
        }
        catch (DockerEngineException ex)
        {
            throw new DockerEngineException($"{ex.Message}; {Fix}", ex);
        }

        if (messages.Error is { } error)
        {
            throw new DockerEngineException($"{what} failed: {error}; {Fix}");
        }

        LogPulled(_logger, reference);
    }

    /// <summary>`docker tag`: gives an image in this engine the name <paramref name="reference"/> (a tag, not a digest).</summary>
    /// <exception cref="DockerEngineException">The image is not in this engine, or the engine refused.</exception>
    public async Task TagImageAsync(string image, string reference, CancellationToken cancellationToken)
    {
        var (repository, tag) = ImageReferences.Split(reference);
        await CallAsync($"tagging image {image} as {reference}", (c, t) => c.Images.TagImageAsync(image, new ImageTagParameters { RepositoryName = repository, Tag = tag }, t), cancellationToken);
        LogTagged(_logger, image, reference);
    }

    /// <summary>`docker save` of one image: a tar stream the caller reads and disposes.</summary>
    /// <exception cref="DockerEngineException">The image is not in this engine, or the engine failed.</exception>
    public async Task<Stream> ExportImageAsync(string reference, CancellationToken cancellationToken)
    {
        _ = await InspectImageAsync(reference, cancellationToken) ?? throw NotOnThisNode(reference);
        return await CallAsync($"exporting image {reference}", (c, t) => c.Images.SaveImageAsync(reference, t), cancellationToken);
    }

    /// <summary>`docker load` of an archive made by <see cref="ExportImageAsync"/>; returns what the engine loaded (image ids or names).</summary>
    public async Task<IReadOnlyList<string>> ImportImageAsync(Stream archive, CancellationToken cancellationToken)
    {
        const string What = "importing an image archive";
        var messages = new EngineMessages();
        await CallAsync(What, (c, t) => c.Images.LoadImageAsync(new ImageLoadParameters { Quiet = true }, archive, messages, t), cancellationToken);
        if (messages.Error is { } error)
        {
            throw new DockerEngineException($"{What} failed: {error}; is it a complete `docker save` archive?");
        }

        var loaded = messages.Loaded;
        LogImported(_logger, string.Join(", ", loaded));
        return loaded;
    }

    /// <summary>
    /// Makes sure the bridge network exists as <paramref name="spec"/> says: created (and labelled ours)
    /// when missing, kept when equal. A network of that name with other settings is reported, never
    /// changed or deleted: containers may be using it.
    /// </summary>
    /// <exception cref="ArgumentException">The spec is not a usable bridge network.</exception>
    /// <exception cref="DockerEngineException">A different network has the name, or the engine failed.</exception>
    public async Task<NetworkEnsureOutcome> EnsureNetworkAsync(BridgeNetworkSpec spec, CancellationToken cancellationToken)
    {
        BridgeNetworkDesign.Validate(spec);
        await _networkGate.WaitAsync(cancellationToken);
        try
        {
            if (await InspectNetworkOrNullAsync(spec.Name, cancellationToken) is { } existing)
            {
                var differences = BridgeNetworkDesign.Differences(spec, existing);
                return differences.Count == 0
                    ? NetworkEnsureOutcome.Existing
                    : throw new DockerEngineException(
                        $"network {spec.Name} exists with other settings: {string.Join("; ", differences)}. Nothing was changed: remove it (`docker network rm {spec.Name}`) once no container uses it, or configure another network name");
            }

            await CallAsync($"creating network {spec.Name}", (c, t) => c.Networks.CreateNetworkAsync(BridgeNetworkDesign.Render(spec, NodeId), t), cancellationToken);
            LogNetworkCreated(_logger, spec.Name, spec.Subnet.ToString(), spec.BridgeName ?? "(engine's choice)");
            return NetworkEnsureOutcome.Created;
        }
        finally
        {
            _networkGate.Release();
        }
    }

    /// <summary>
    /// Every container attached to network <paramref name="name"/> on this engine, whoever made it, with its
    /// IPv4 address and MAC there: the endpoints the overlay announces. Empty when the network does not exist.
    /// </summary>
    public async Task<IReadOnlyList<NetworkEndpoint>> ListNetworkEndpointsAsync(string name, CancellationToken cancellationToken)
    {
        if (await InspectNetworkOrNullAsync(name, cancellationToken) is not { Containers: { } containers })
        {
            return [];
        }

        return [.. containers.Values
            .Select(c => (c.Name, Address: IPAddress.TryParse((c.IPv4Address ?? "").Split('/')[0], out var address) ? address : null, Mac: PhysicalAddress.TryParse(c.MacAddress ?? "", out var mac) ? mac : null))
            .Where(c => c.Address is not null && c.Mac is not null)
            .Select(c => new NetworkEndpoint(c.Name, c.Address!, c.Mac!))];
    }

    /// <summary>Removes a network this node created; false if there is none of that name.</summary>
    /// <exception cref="DockerEngineException">It is not this node's (left alone), containers still use it, or the engine failed.</exception>
    public async Task<bool> RemoveNetworkAsync(string name, CancellationToken cancellationToken)
    {
        await _networkGate.WaitAsync(cancellationToken);
        try
        {
            if (await InspectNetworkOrNullAsync(name, cancellationToken) is not { } network)
            {
                return false;
            }

            if (!ContainerLabels.AreOwnedBy(network.Labels, NodeId))
            {
                throw new DockerEngineException($"network {name} was not created by this node's agent (no {ContainerLabels.Managed}/{ContainerLabels.Node} labels); it is left alone");
            }

            await CallAsync($"removing network {name}", (c, t) => IgnoreNotFound(c.Networks.DeleteNetworkAsync(network.ID, t)), cancellationToken);
            LogNetworkRemoved(_logger, name);
            return true;
        }
        finally
        {
            _networkGate.Release();
        }
    }

    public void Dispose()
    {
        _client.Dispose();
        _networkGate.Dispose();
    }

    private static ManagedContainer ToManaged(ContainerInspectResponse container)
    {
        var labels = container.Config?.Labels;
        var (network, endpoint) = container.NetworkSettings?.Networks?.FirstOrDefault(n => n.Key != "none") is { Key: { } key, Value: { } value }
            ? (key, value)
            : ((string?)null, (EndpointSettings?)null);
        return new ManagedContainer
        {
            Id = container.ID,
            Name = NameOf(container),
            App = Label(labels, ContainerLabels.App),
            Component = Label(labels, ContainerLabels.Component),
            Instance = int.TryParse(Label(labels, ContainerLabels.Instance), System.Globalization.CultureInfo.InvariantCulture, out var instance) ? instance : -1,
            Fingerprint = Label(labels, ContainerLabels.Fingerprint),
            Image = container.Config?.Image ?? "",
            ImageId = container.Image ?? "",
            State = container.State?.Status ?? "",
            ExitCode = container.State?.ExitCode ?? 0,
            OomKilled = container.State?.OOMKilled ?? false,
            RestartCount = container.RestartCount,
            StartedAt = EngineTime.Parse(container.State?.StartedAt),
            FinishedAt = EngineTime.Parse(container.State?.FinishedAt),
            Network = network,
            // A stopped container has no address on the network, but keeps the one it was created with.
            IPv4Address = IPAddress.TryParse(endpoint?.IPAddress, out var address) || IPAddress.TryParse(endpoint?.IPAMConfig?.IPv4Address, out address) ? address : null,
            MacAddress = endpoint?.MacAddress is { Length: > 0 } mac ? mac : null,
        };
    }

    private static string NameOf(ContainerInspectResponse container) => container.Name?.TrimStart('/') ?? container.ID;

    private static string Label(IDictionary<string, string>? labels, string key) =>
        labels is not null && labels.TryGetValue(key, out var value) ? value : "";

    private async Task<ContainerInspectResponse?> InspectOwnedAsync(string nameOrId, CancellationToken cancellationToken)
    {
        var container = await InspectContainerOrNullAsync(nameOrId, cancellationToken);
        return container is null || ContainerLabels.AreOwnedBy(container.Config?.Labels, NodeId)
            ? container
            : throw new DockerEngineException($"container {nameOrId} is not one of this node's containers (it lacks {ContainerLabels.Managed}=true and {ContainerLabels.Node}={NodeId}); the agent leaves it alone");
    }

    private Task<ContainerInspectResponse?> InspectContainerOrNullAsync(string nameOrId, CancellationToken cancellationToken) =>
        CallAsync($"inspecting container {nameOrId}", async (c, t) =>
        {
            try
            {
                return await c.Containers.InspectContainerAsync(nameOrId, t);
            }
            catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
        }, cancellationToken);

    /// <summary>By exact name: the engine also matches id prefixes, which must not pass for a network of that name.</summary>
    private Task<NetworkResponse?> InspectNetworkOrNullAsync(string name, CancellationToken cancellationToken) =>
        CallAsync($"inspecting network {name}", async (c, t) =>
        {
            try
            {
                var network = await c.Networks.InspectNetworkAsync(name, t);
                return network.Name == name ? network : null;
            }
            catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
        }, cancellationToken);

    /// <summary>Cleans up after a failed start; the original failure is what the caller hears about.</summary>
    private async Task RemoveCreatedAsync(string id, string name)
    {
        try
        {
            using var timeout = new CancellationTokenSource(_requestTimeout);
            await CallAsync($"removing container {name}", (c, t) => IgnoreNotFound(c.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, t)), timeout.Token);
        }
        catch (Exception ex) when (ex is DockerEngineException or OperationCanceledException)
        {
            LogCleanupFailed(_logger, name, ex.Message);
        }
    }

    private static async Task<bool> IgnoreNotFound(Task call)
    {
        try
        {
            await call;
            return true;
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    private static DockerEngineException NotOnThisNode(string reference) =>
        new($"image {reference} is not on this node: pull it from a registry or copy it from a node that has it");

    private Task CallAsync(string what, Func<DockerClient, CancellationToken, Task> call, CancellationToken cancellationToken) =>
        CallAsync(what, async (c, t) =>
        {
            await call(c, t);
            return true;
        }, cancellationToken);

    private async Task<T> CallAsync<T>(string what, Func<DockerClient, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call(_client, cancellationToken);
        }
        catch (Exception ex) when (Translate(what, ex, cancellationToken) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>What failed and what to check, for the failures the engine and its socket produce; null lets the rest through.</summary>
    private DockerEngineException? Translate(string what, Exception ex, CancellationToken cancellationToken) => ex switch
    {
        DockerApiException api => new($"{what} failed: {EngineMessage(api)} (HTTP {(int)api.StatusCode})", api),
        OperationCanceledException when cancellationToken.IsCancellationRequested => null,
        OperationCanceledException or TimeoutException =>
            new($"{what} failed: the Docker engine at {Endpoint} did not answer within {_requestTimeout.TotalSeconds:0} s; is dockerd overloaded or stuck? (`docker info`)", ex, unreachable: true),
        HttpRequestException or SocketException or IOException =>
            new($"{what} failed: the Docker engine at {Endpoint} is not reachable ({(File.Exists(Endpoint.SocketPath) ? ex.GetBaseException().Message : "no socket at that path")}); is dockerd running? check --docker", ex, unreachable: true),
        _ => null,
    };

    /// <summary>The engine answers errors as <c>{"message": "..."}</c>.</summary>
    private static string EngineMessage(DockerApiException ex)
    {
        try
        {
            using var body = JsonDocument.Parse(ex.ResponseBody ?? "");
            if (body.RootElement.ValueKind == JsonValueKind.Object && body.RootElement.TryGetProperty("message", out var message) && message.GetString() is { Length: > 0 } text)
            {
                return text;
            }
        }
        catch (JsonException)
        {
            // Not JSON: the body as it came.
        }

        return string.IsNullOrWhiteSpace(ex.ResponseBody) ? ex.StatusCode.ToString() : ex.ResponseBody.Trim();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started container {Name} ({Id}) from {Image}")]
    private static partial void LogStarted(ILogger logger, string name, string id, string image);

    [LoggerMessage(Level = LogLevel.Information, Message = "Started container {Name} ({Id}) again")]
    private static partial void LogStartedAgain(ILogger logger, string name, string id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Container {Name} did not start, removing it: {Reason}")]
    private static partial void LogStartFailed(ILogger logger, string name, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove container {Name} after a failed start: {Reason}")]
    private static partial void LogCleanupFailed(ILogger logger, string name, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed container {Name} ({Id})")]
    private static partial void LogRemoved(ILogger logger, string name, string id);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pulled image {Reference}")]
    private static partial void LogPulled(ILogger logger, string reference);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tagged image {Image} as {Reference}")]
    private static partial void LogTagged(ILogger logger, string image, string reference);

    [LoggerMessage(Level = LogLevel.Information, Message = "Imported image archive: {Loaded}")]
    private static partial void LogImported(ILogger logger, string loaded);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created network {Name}: subnet {Subnet}, bridge {Bridge}")]
    private static partial void LogNetworkCreated(ILogger logger, string name, string subnet, string bridge);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed network {Name}")]
    private static partial void LogNetworkRemoved(ILogger logger, string name);

    /// <summary>The engine's progress stream for pulls and loads: the first error, and what was loaded.</summary>
    private sealed class EngineMessages : IProgress<JSONMessage>
    {
        private const string LoadedId = "Loaded image ID: ";
        private const string LoadedName = "Loaded image: ";
        private readonly List<string> _loaded = [];

        public string? Error { get; private set; }

        public IReadOnlyList<string> Loaded => _loaded;

        // Called synchronously by the client as each message arrives (unlike Progress<T>, which posts).
        public void Report(JSONMessage value)
        {
            Error ??= value.Error?.Message is { Length: > 0 } error ? error : null;
            var text = value.Stream?.Trim() ?? "";
            foreach (var prefix in new[] { LoadedId, LoadedName })
            {
                if (text.StartsWith(prefix, StringComparison.Ordinal))
                {
                    _loaded.Add(text[prefix.Length..].Trim());
                }
            }
        }
    }
}
