using System.Text.Json.Serialization.Metadata;

namespace Nanobox.Node.Storage;

/// <summary>
/// The node's own durable state (identity now; certificates, last good firewall ruleset and the like later),
/// as JSON records keyed by collection and key. Replicated cluster state lives in the Raft log, not here.
/// </summary>
public interface INodeStore : IDisposable
{
    /// <summary>The store's file, for messages.</summary>
    string FilePath { get; }

    T? Get<T>(string collection, string key, JsonTypeInfo<T> type);

    /// <summary>Inserts or replaces a record; durable when this returns.</summary>
    void Put<T>(string collection, string key, T value, JsonTypeInfo<T> type);

    /// <summary>Inserts a record only if the key is free; returns the record that is stored afterwards.</summary>
    T GetOrAdd<T>(string collection, string key, Func<T> create, JsonTypeInfo<T> type);

    bool Delete(string collection, string key);

    IReadOnlyList<KeyValuePair<string, T>> List<T>(string collection, JsonTypeInfo<T> type);
}
