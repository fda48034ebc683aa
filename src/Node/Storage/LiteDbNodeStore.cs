using System.Text.Json;
using JsonSerializer = System.Text.Json.JsonSerializer;
using System.Text.Json.Serialization.Metadata;
using LiteDB;

namespace Nanobox.Node.Storage;

/// <summary>
/// <see cref="INodeStore"/> on one LiteDB file. Records are kept as JSON text in a BsonDocument
/// ({ _id, json }): LiteDB's typed mapper relies on reflection that Native AOT removes, and JSON with
/// source-generated metadata keeps every record type AOT-safe and readable by hand.
/// </summary>
public sealed class LiteDbNodeStore : INodeStore
{
    /// <summary>Bump when a record's shape changes incompatibly, and migrate older files in <see cref="Open"/>.</summary>
    public const int SchemaVersion = 1;

    public const string FileName = "node.db";

    private const string MetaCollection = "_meta";
    private const string SchemaKey = "schema";
    private const string JsonField = "json";
    private const int PageSize = 8192;
    private const int HeaderMarkerOffset = 32;

    private readonly LiteDatabase _db;
    // A leaf lock, taken under callers' own locks: only LiteDB (and GetOrAdd's pure factory) runs under it.
    private readonly Lock _writeLock = new();

    private LiteDbNodeStore(string filePath, LiteDatabase db)
    {
        FilePath = filePath;
        _db = db;
    }

    public string FilePath { get; }

    /// <summary>Opens the store in <paramref name="dataDir"/>, creating it when there is no file yet.</summary>
    /// <exception cref="StoreException">The file is corrupt, unreadable or from a newer nanobox.</exception>
    public static LiteDbNodeStore Open(string dataDir)
    {
        var path = Path.Combine(dataDir, FileName);
        var existed = File.Exists(path);
        if (existed)
        {
            CheckHeader(path);
        }

        LiteDatabase db;
        try
        {
            db = new LiteDatabase(new ConnectionString { Filename = path, Connection = ConnectionType.Direct, Upgrade = false });
        }
        catch (Exception ex) when (ex is LiteException or InvalidCastException or IndexOutOfRangeException or ArgumentException or InvalidOperationException)
        {
            throw Corrupt(path, ex.Message, ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new StoreException($"Cannot open the store {path}: {ex.Message} Run the agent as root or give it ownership of the data dir.", ex);
        }

        try
        {
            CheckSchema(db, path, existed);
            return new LiteDbNodeStore(path, db);
        }
        catch (StoreException)
        {
            db.Dispose();
            throw;
        }
        catch (Exception ex) when (ex is LiteException or InvalidCastException or IndexOutOfRangeException or InvalidOperationException)
        {
            db.Dispose();
            throw Corrupt(path, ex.Message, ex);
        }
    }

    /// <summary>
    /// LiteDB quietly re-initialises a file too short to hold its header page, so a truncated or foreign
    /// file is recognised here, before LiteDB sees it: the first page carries a fixed marker at offset 32.
    /// </summary>
    private static void CheckHeader(string path)
    {
        var marker = "** This is a LiteDB file **"u8;
        Span<byte> header = stackalloc byte[HeaderMarkerOffset + marker.Length];
        try
        {
            using var file = File.OpenRead(path);
            if (file.Length < PageSize)
            {
                throw Corrupt(path, file.Length == 0 ? "the file is empty" : $"the file is {file.Length} bytes, shorter than one {PageSize}-byte page");
            }

            file.ReadExactly(header);
        }
        catch (IOException ex)
        {
            throw Corrupt(path, ex.Message, ex);
        }

        if (!header[HeaderMarkerOffset..].SequenceEqual(marker))
        {
            throw Corrupt(path, "the file does not start with a LiteDB header");
        }
    }

    private static void CheckSchema(LiteDatabase db, string path, bool existed)
    {
        var meta = db.GetCollection(MetaCollection);
        var schema = meta.FindById(SchemaKey);
        if (schema is null)
        {
            if (existed && db.GetCollectionNames().Any(name => name != MetaCollection))
            {
                throw Corrupt(path, "it holds data but no schema record");
            }

            meta.Insert(new BsonDocument { ["_id"] = SchemaKey, ["version"] = SchemaVersion });
            db.Checkpoint();
            return;
        }

        var version = schema["version"];
        if (!version.IsInt32)
        {
            throw Corrupt(path, "its schema record has no version number");
        }

        if (version.AsInt32 > SchemaVersion)
        {
            throw new StoreException(
                $"The store {path} has schema version {version.AsInt32}, written by a newer nanobox; this nanobox " +
                $"({Host.BuildInfo.Version}) reads up to version {SchemaVersion}. Install that newer nanobox again, or restore " +
                "the data dir from a backup made before the upgrade. Nothing was changed.");
        }
    }

    private static StoreException Corrupt(string path, string why, Exception? inner = null) => new(
        $"The store {path} is corrupt or not a nanobox store ({why}). Nothing was changed. Restore it from a backup, " +
        "or move the data dir aside to start this node afresh (it then gets a new node id and must join its cluster again).",
        inner);

    public T? Get<T>(string collection, string key, JsonTypeInfo<T> type)
    {
        var doc = _db.GetCollection(collection).FindById(key);
        return doc is null ? default : Deserialize(doc, type, collection, key);
    }

    public void Put<T>(string collection, string key, T value, JsonTypeInfo<T> type)
    {
        lock (_writeLock)
        {
            _db.GetCollection(collection).Upsert(ToDocument(key, value, type));
            _db.Checkpoint();
        }
    }

    public T GetOrAdd<T>(string collection, string key, Func<T> create, JsonTypeInfo<T> type)
    {
        lock (_writeLock)
        {
            var existing = Get(collection, key, type);
            if (existing is not null)
            {
                return existing;
            }

            var value = create();
            _db.GetCollection(collection).Insert(ToDocument(key, value, type));
            _db.Checkpoint();
            return value;
        }
    }

    public bool Delete(string collection, string key)
    {
        lock (_writeLock)
        {
            var deleted = _db.GetCollection(collection).Delete(key);
            _db.Checkpoint();
            return deleted;
        }
    }

    public IReadOnlyList<KeyValuePair<string, T>> List<T>(string collection, JsonTypeInfo<T> type) =>
        _db.GetCollection(collection).FindAll()
            .Select(doc => KeyValuePair.Create(doc["_id"].AsString, Deserialize(doc, type, collection, doc["_id"].AsString)))
            .ToList();

    public void Dispose() => _db.Dispose();

    private static BsonDocument ToDocument<T>(string key, T value, JsonTypeInfo<T> type) =>
        new() { ["_id"] = key, [JsonField] = JsonSerializer.Serialize(value, type) };

    private T Deserialize<T>(BsonDocument doc, JsonTypeInfo<T> type, string collection, string key)
    {
        try
        {
            return JsonSerializer.Deserialize(doc[JsonField].AsString, type)
                ?? throw new JsonException("the record is null");
        }
        catch (Exception ex) when (ex is JsonException or InvalidCastException or ArgumentNullException)
        {
            throw new StoreException(
                $"The record {collection}/{key} in the store {FilePath} cannot be read ({ex.Message}). Restore the data dir from a backup.",
                ex);
        }
    }
}
