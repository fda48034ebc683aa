using System.Security.Cryptography;
using System.Text.Json.Serialization;
using Nanobox.Node.Security;

namespace Nanobox.Node.Storage;

/// <summary>Who this node is. Created once, on the first start, and kept for the node's life.</summary>
public sealed record NodeIdentity(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("createdAt")] DateTimeOffset CreatedAt)
{
    private const string Collection = "node";
    private const string Key = "identity";

    public static NodeIdentity LoadOrCreate(INodeStore store) =>
        store.GetOrAdd(Collection, Key, () => new NodeIdentity(NewId(), DateTimeOffset.UtcNow), StorageJsonContext.Default.NodeIdentity);

    /// <summary>128 random bits as 26 base32 characters.</summary>
    public static string NewId() => Base32.Encode(RandomNumberGenerator.GetBytes(16));
}

[JsonSerializable(typeof(NodeIdentity))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;
