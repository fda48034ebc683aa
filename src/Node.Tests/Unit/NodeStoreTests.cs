using System.Text.Json.Serialization;
using LiteDB;
using Nanobox.Node.Storage;

namespace Nanobox.Node.Tests.Unit;

public sealed class NodeStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanobox-store-").FullName;

    private string StorePath => Path.Combine(_dir, LiteDbNodeStore.FileName);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Records_round_trip_and_survive_reopening()
    {
        using (var store = LiteDbNodeStore.Open(_dir))
        {
            store.Put("things", "a", new Thing("alpha", 1), TestJsonContext.Default.Thing);
            store.Put("things", "b", new Thing("beta", 2), TestJsonContext.Default.Thing);
            store.Put("things", "a", new Thing("alpha", 3), TestJsonContext.Default.Thing);
            Assert.True(store.Delete("things", "b"));
            Assert.False(store.Delete("things", "b"));
        }

        using var reopened = LiteDbNodeStore.Open(_dir);
        Assert.Equal(new Thing("alpha", 3), reopened.Get("things", "a", TestJsonContext.Default.Thing));
        Assert.Null(reopened.Get("things", "b", TestJsonContext.Default.Thing));
        var all = reopened.List("things", TestJsonContext.Default.Thing);
        Assert.Equal("a", Assert.Single(all).Key);
    }

    [Fact]
    public void The_node_id_is_created_once_and_kept()
    {
        string id;
        using (var store = LiteDbNodeStore.Open(_dir))
        {
            id = NodeIdentity.LoadOrCreate(store).Id;
            Assert.Equal(id, NodeIdentity.LoadOrCreate(store).Id);
        }

        using var reopened = LiteDbNodeStore.Open(_dir);
        Assert.Equal(id, NodeIdentity.LoadOrCreate(reopened).Id);
    }

    [Fact]
    public void Node_ids_are_26_base32_characters_and_unique()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => NodeIdentity.NewId()).ToList();

        Assert.All(ids, id => Assert.Matches("^[a-z2-7]{26}$", id));
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void A_store_from_a_newer_schema_is_refused_and_left_alone()
    {
        using (var db = new LiteDatabase(StorePath))
        {
            db.GetCollection("_meta").Upsert(new BsonDocument { ["_id"] = "schema", ["version"] = LiteDbNodeStore.SchemaVersion + 1 });
        }

        var before = File.ReadAllBytes(StorePath);

        var error = Assert.Throws<StoreException>(() => LiteDbNodeStore.Open(_dir));

        Assert.Contains(StorePath, error.Message);
        Assert.Contains($"schema version {LiteDbNodeStore.SchemaVersion + 1}", error.Message);
        Assert.Equal(before, File.ReadAllBytes(StorePath));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(16384)]
    public void A_corrupt_file_is_reported_with_its_path_and_never_recreated(int garbageBytes)
    {
        var garbage = new byte[garbageBytes];
        new Random(garbageBytes).NextBytes(garbage);
        File.WriteAllBytes(StorePath, garbage);

        var error = Assert.Throws<StoreException>(() => LiteDbNodeStore.Open(_dir));

        Assert.Contains(StorePath, error.Message);
        Assert.Contains("corrupt", error.Message);
        Assert.Equal(garbage, File.ReadAllBytes(StorePath));
    }

    [Fact]
    public void A_store_with_data_but_no_schema_record_is_refused()
    {
        using (var db = new LiteDatabase(StorePath))
        {
            db.GetCollection("node").Insert(new BsonDocument { ["_id"] = "identity", ["json"] = "{}" });
        }

        var error = Assert.Throws<StoreException>(() => LiteDbNodeStore.Open(_dir));

        Assert.Contains("no schema record", error.Message);
    }

    [Fact]
    public void An_unreadable_record_names_itself()
    {
        using (var db = new LiteDatabase(StorePath))
        {
            db.GetCollection("_meta").Insert(new BsonDocument { ["_id"] = "schema", ["version"] = LiteDbNodeStore.SchemaVersion });
            db.GetCollection("things").Insert(new BsonDocument { ["_id"] = "x", ["json"] = "{not json" });
        }

        using var store = LiteDbNodeStore.Open(_dir);
        var error = Assert.Throws<StoreException>(() => store.Get("things", "x", TestJsonContext.Default.Thing));

        Assert.Contains("things/x", error.Message);
    }
}

public sealed record Thing(string Name, int Count);

[JsonSerializable(typeof(Thing))]
internal sealed partial class TestJsonContext : JsonSerializerContext;
