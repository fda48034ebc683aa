using System.Text.Json;
using System.Text.Json.Serialization;

namespace Nanobox.Node.Cluster.Consensus;

/// <summary>Source-generated JSON for everything consensus writes: log entries, snapshots, control requests.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(CommandEnvelope))]
[JsonSerializable(typeof(ClusterState))]
[JsonSerializable(typeof(ControlRequest))]
[JsonSerializable(typeof(ControlResponse))]
internal sealed partial class ConsensusJsonContext : JsonSerializerContext;

/// <summary>Encodes what goes into the Raft log and snapshots, refusing what a newer schema wrote.</summary>
internal static class ConsensusCodec
{
    public static byte[] EncodeCommand(ClusterCommand command) =>
        JsonSerializer.SerializeToUtf8Bytes(new CommandEnvelope(CommandEnvelope.CurrentSchema, command), ConsensusJsonContext.Default.CommandEnvelope);

    /// <exception cref="InvalidDataException">The entry is not a command this node can apply.</exception>
    public static ClusterCommand DecodeCommand(ReadOnlySpan<byte> utf8)
    {
        var envelope = Deserialize(utf8, ConsensusJsonContext.Default.CommandEnvelope, "log entry");
        if (envelope.Schema > CommandEnvelope.CurrentSchema)
            throw new InvalidDataException($"a log entry has command schema {envelope.Schema}; this node knows up to {CommandEnvelope.CurrentSchema}: upgrade it");
        return envelope.Command;
    }

    public static byte[] EncodeState(ClusterState state) =>
        JsonSerializer.SerializeToUtf8Bytes(state, ConsensusJsonContext.Default.ClusterState);

    /// <exception cref="InvalidDataException">The snapshot is not a state this node can read.</exception>
    public static ClusterState DecodeState(ReadOnlySpan<byte> utf8)
    {
        var state = Deserialize(utf8, ConsensusJsonContext.Default.ClusterState, "state snapshot");
        if (state.Schema > ClusterState.CurrentSchema)
            throw new InvalidDataException($"the state snapshot has schema {state.Schema}; this node knows up to {ClusterState.CurrentSchema}: upgrade it");
        return state;
    }

    private static T Deserialize<T>(ReadOnlySpan<byte> utf8, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string what)
    {
        try
        {
            return JsonSerializer.Deserialize(utf8, type) ?? throw new InvalidDataException($"the {what} is null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"the {what} is not valid: {e.Message}", e);
        }
    }
}
