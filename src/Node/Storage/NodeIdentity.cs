using System.Security.Cryptography;
using System.Text.Json.Serialization;

namespace Nanobox.Node.Storage;

/// <summary>Who this node is. Created once, on the first start, and kept for the node's life.</summary>
public sealed record NodeIdentity(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("createdAt")] DateTimeOffset CreatedAt)
{
    private const string Collection = "node";
    private const string Key = "identity";

    /// <summary>Lowercase RFC 4648 base32 without padding: safe in DNS names, file names and certificate subjects.</summary>
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    public static NodeIdentity LoadOrCreate(INodeStore store) =>
        store.GetOrAdd(Collection, Key, () => new NodeIdentity(NewId(), DateTimeOffset.UtcNow), StorageJsonContext.Default.NodeIdentity);

    /// <summary>128 random bits as 26 base32 characters.</summary>
    public static string NewId()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        Span<char> chars = stackalloc char[26];
        int buffer = 0, bits = 0, next = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                chars[next++] = Alphabet[(buffer >> (bits - 5)) & 31];
                bits -= 5;
            }
        }

        chars[next] = Alphabet[(buffer << (5 - bits)) & 31];
        return new string(chars);
    }
}

[JsonSerializable(typeof(NodeIdentity))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;
