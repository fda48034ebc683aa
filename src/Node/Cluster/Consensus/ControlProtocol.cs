using System.Buffers.Binary;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Nanobox.Node.Cluster.Consensus;

/// <summary>A node's control request listener, as learnt from its Raft member metadata.</summary>
/// <param name="NodeId">Pinned when connecting: the peer's certificate must carry this node id.</param>
public sealed record ControlPeer(string NodeId, EndPoint RequestsEndPoint);

internal enum ControlRequestKind
{
    /// <summary>Apply <see cref="ControlRequest.Command"/> through Raft; only the leader accepts.</summary>
    Replicate,

    /// <summary>
    /// Send the state if it is newer than <see cref="ControlRequest.SinceVersion"/> (how non-voters follow);
    /// when it is not, wait up to <see cref="ControlRequest.WaitMs"/> for a newer one before answering.
    /// </summary>
    FetchState,

    /// <summary>
    /// Sign <see cref="ControlRequest.CertificateRequest"/> for the requesting node (renewal); only the
    /// leader signs, and only for the node id its mutual-TLS certificate proves.
    /// </summary>
    SignCertificate,

    /// <summary>
    /// Open a new TCP connection back to the requester on each of <see cref="ControlRequest.ProbePorts"/>
    /// and say which got through: how a node checks, after changing its firewall, that peers still reach
    /// it. Only ever the requester's own address, so a member cannot turn this into a port scanner.
    /// </summary>
    ProbeBack,

    /// <summary>Report the app instances this node's agent runs (for `nanobox ps` on any member).</summary>
    ListInstances,

    /// <summary>
    /// Does this node's engine hold <see cref="ControlRequest.Image"/> (a tag or a pin)? Answered with
    /// <see cref="ControlResponse.Image"/>, or <see cref="ControlOutcome.NotFound"/>.
    /// </summary>
    FindImage,

    /// <summary>
    /// Stream: `docker save` of the pinned <see cref="ControlRequest.Image"/> from this node's engine, in
    /// archive chunks after the response; the connection carries nothing else.
    /// </summary>
    ExportImage,

    /// <summary>
    /// Stream: the log lines of this node's own container <see cref="ControlRequest.Container"/>, in log
    /// frames after the response, until the lines end (or, following, the container stops); the
    /// connection carries nothing else.
    /// </summary>
    ReadLogs,
}

internal sealed record ControlRequest(
    ControlRequestKind Kind,
    CommandEnvelope? Command,
    long SinceVersion,
    byte[]? CertificateRequest = null,
    int[]? ProbePorts = null,
    string? Image = null,
    string? Container = null,
    Runtime.Docker.ContainerLogOptions? Logs = null,
    int WaitMs = 0);

internal enum ControlOutcome
{
    /// <summary><see cref="ControlResponse.State"/> is the state after the command, or the newer state asked for.</summary>
    Ok,

    /// <summary>The caller's state is current.</summary>
    Unchanged,

    /// <summary>The command is invalid against the state; <see cref="ControlResponse.Message"/> says why.</summary>
    Rejected,

    /// <summary>This node is not (or no longer) the leader: ask again where the leader is.</summary>
    NotLeader,

    /// <summary>The write may or may not commit (leadership lost mid-way).</summary>
    OutcomeUnknown,

    /// <summary>The request was malformed or the server failed.</summary>
    Error,

    /// <summary>This node does not have what was asked for (an image its engine does not hold).</summary>
    NotFound,
}

/// <param name="Image">For <see cref="ControlRequestKind.FindImage"/>: the image this node's engine holds.</param>
/// <param name="Instances">For <see cref="ControlRequestKind.ListInstances"/>: the agent's report, as the runtime writes it (opaque here).</param>
internal sealed record ControlResponse(ControlOutcome Outcome, ClusterState? State, string? Message, byte[]? Certificate = null, PortReach[]? Probes = null, PeerImage? Image = null, JsonElement? Instances = null);

/// <summary>An image a node's engine holds: its pin (registry digest or image id) and its image id.</summary>
internal sealed record PeerImage(string Pin, string Id);

/// <summary>What a probe-back found on one port.</summary>
public enum PortReach
{
    /// <summary>Connected: the firewall let it through and something listens.</summary>
    Open,

    /// <summary>Refused (RST): the firewall let it through, nothing listens.</summary>
    Closed,

    /// <summary>No answer within the timeout: dropped on the way, most likely by the firewall.</summary>
    Filtered,
}

/// <summary>Frames on a control stream: a 4-byte big-endian length, then that many bytes of JSON.</summary>
internal static class ControlFraming
{
    /// <summary>A state with many members and sections stays far below this; anything larger is a broken or hostile peer.</summary>
    private const int MaxFrame = 16 << 20;

    public static async Task WriteAsync<T>(Stream stream, T message, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(message, type);
        var frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
        body.CopyTo(frame, 4);
        await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <returns>The message, or default when the peer closed the stream between frames.</returns>
    /// <exception cref="InvalidDataException">The frame is oversized or not a valid message.</exception>
    public static async Task<T?> ReadAsync<T>(Stream stream, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        var header = new byte[4];
        var read = await stream.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read == 0)
            return default;
        if (read < header.Length)
            throw new EndOfStreamException("the control stream ended inside a frame header");

        var length = BinaryPrimitives.ReadInt32BigEndian(header);
        if (length is <= 0 or > MaxFrame)
            throw new InvalidDataException($"control frame of {length} bytes refused");

        var body = new byte[length];
        await stream.ReadExactlyAsync(body, cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonSerializer.Deserialize(body, type) ?? throw new InvalidDataException("null control message");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"invalid control message: {e.Message}", e);
        }
    }
}
