using System.Collections.Immutable;
using System.Text.Json;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Runtime.Spec;
using static Nanobox.Node.Tests.Runtime.SpecTestData;

namespace Nanobox.Node.Tests.Runtime;

public sealed class AppHistoryTests
{
    private static readonly DateTimeOffset T0 = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static AppSpec Shop(int replicas) => Valid($"app: shop\nweb.main: {{ image: busybox, replicas: {replicas} }}");

    private static AppHistory Deployed(int releases)
    {
        var history = AppHistory.Start(Shop(1), PinsFor(Shop(1), "sha256:v1"), T0, "alice");
        for (var v = 2; v <= releases; v++)
            history = history.Deploy(Shop(v), PinsFor(Shop(v), $"sha256:v{v}"), T0.AddMinutes(v), "alice");
        return history;
    }

    [Fact]
    public void Each_deploy_is_the_next_version_and_the_last_ten_are_kept()
    {
        var history = Deployed(3);

        Assert.Equal(3, history.Current.Version);
        Assert.Equal([2, 1], history.Previous.Select(static r => r.Version));
        Assert.Equal("shop", history.App);

        var long_ = Deployed(15);
        Assert.Equal(15, long_.Current.Version);
        Assert.Equal(AppHistory.MaxReleases, 1 + long_.Previous.Length);
        Assert.Equal([14, 13, 12, 11, 10, 9, 8, 7, 6], long_.Previous.Select(static r => r.Version));
        Assert.Null(long_.Find(5));
        Assert.Equal(6, long_.Find(6)!.Version);
    }

    [Fact]
    public void Rollback_is_a_new_version_with_the_earlier_spec_and_pins()
    {
        var history = Deployed(3).Rollback(null, T0.AddHours(1), "bob");

        var current = history.Current;
        Assert.Equal((4, 2, "bob", T0.AddHours(1)), (current.Version, current.RestoredFrom, current.DeployedBy, current.DeployedAt));
        Assert.Equal(2, current.Spec.Components["web.main"].Replicas);
        Assert.Equal("sha256:v2", current.ImagePins["web.main"]);
        Assert.Equal([3, 2, 1], history.Previous.Select(static r => r.Version));

        // Rolling back again returns to what was current before the first rollback.
        Assert.Equal(3, history.Rollback(null, T0, "bob").Current.RestoredFrom);
        Assert.Equal(1, history.Rollback(1, T0, "bob").Current.Spec.Components["web.main"].Replicas);
    }

    [Fact]
    public void Rollback_refuses_what_it_cannot_do_with_a_clear_message()
    {
        Assert.Equal("shop has only version 1: there is no earlier release to roll back to",
            Assert.Throws<AppChangeRejectedException>(() => Deployed(1).Rollback(null, T0, "bob")).Message);
        Assert.Equal("version 3 of shop is already the current one",
            Assert.Throws<AppChangeRejectedException>(() => Deployed(3).Rollback(3, T0, "bob")).Message);
        Assert.Equal("version 2 of shop is not kept; give one of 11, 10, 9, 8, 7, 6, 5, 4, 3 (the last 10 releases are kept)",
            Assert.Throws<AppChangeRejectedException>(() => Deployed(12).Rollback(2, T0, "bob")).Message);
    }

    [Fact]
    public void A_deploy_needs_exactly_one_pin_per_component_and_the_same_app()
    {
        var spec = Valid("app: shop\nweb.main: { image: a }\nworker.jobs: { image: b }");
        var one = ImmutableSortedDictionary<string, string>.Empty.Add("web.main", "sha256:a");

        Assert.Equal("no image pin for worker.jobs: resolve every component's image before deploying",
            Assert.Throws<AppChangeRejectedException>(() => AppHistory.Start(spec, one, T0, "alice")).Message);
        Assert.Equal("image pins for web.other, which shop does not have",
            Assert.Throws<AppChangeRejectedException>(() => AppHistory.Start(spec, PinsFor(spec).Add("web.other", "x"), T0, "alice")).Message);
        Assert.Equal("no image pin for web.main: resolve every component's image before deploying",
            Assert.Throws<AppChangeRejectedException>(() => AppHistory.Start(spec, PinsFor(spec).SetItem("web.main", " "), T0, "alice")).Message);
        Assert.Equal("a release must say who deployed it",
            Assert.Throws<AppChangeRejectedException>(() => AppHistory.Start(spec, PinsFor(spec), T0, "")).Message);
        var other = Valid("app: blog\nweb.main: { image: a }");
        Assert.Equal("the spec is for app blog, not shop",
            Assert.Throws<AppChangeRejectedException>(() => Deployed(1).Deploy(other, PinsFor(other), T0, "alice")).Message);
    }

    [Fact]
    public void The_catalog_deploys_rolls_back_and_removes_apps()
    {
        var blog = Valid("app: blog\nweb.main: { image: a }");
        var catalog = AppCatalog.Empty
            .Deploy(Shop(1), PinsFor(Shop(1)), T0, "alice")
            .Deploy(blog, PinsFor(blog), T0, "alice")
            .Deploy(Shop(2), PinsFor(Shop(2)), T0, "alice")
            .Rollback("shop", null, T0, "bob");

        Assert.Equal(["blog", "shop"], catalog.Apps.Keys);
        Assert.Equal((3, 1), (catalog.Get("shop").Current.Version, catalog.Get("shop").Current.RestoredFrom));
        Assert.Equal(["shop"], catalog.Remove("blog").Apps.Keys);
        Assert.Equal("there is no app named web; apps: blog, shop",
            Assert.Throws<AppChangeRejectedException>(() => catalog.Remove("web")).Message);
        Assert.Equal("there is no app named shop: no app is deployed",
            Assert.Throws<AppChangeRejectedException>(() => AppCatalog.Empty.Rollback("shop", null, T0, "bob")).Message);
        // A removed app starts again at version 1.
        Assert.Equal(1, catalog.Remove("shop").Deploy(Shop(1), PinsFor(Shop(1)), T0, "alice").Get("shop").Current.Version);
    }

    [Fact]
    public void The_catalog_lives_in_a_cluster_state_section_byte_for_byte()
    {
        var catalog = AppCatalog.Empty.Deploy(Shop(1), PinsFor(Shop(1)), T0, "alice").Deploy(Shop(2), PinsFor(Shop(2)), T0, "alice");
        var state = ClusterState.Empty with
        {
            Sections = ClusterState.Empty.Sections.Add(AppCatalog.Section, new ClusterSection(catalog.ToJson(), 7)),
        };

        var snapshot = ConsensusCodec.DecodeState(ConsensusCodec.EncodeState(state));
        var (back, revision) = AppCatalog.Of(snapshot);

        Assert.Equal(7, revision);
        Assert.Equal(catalog.ToJson().GetRawText(), back.ToJson().GetRawText());
        Assert.Equal(2, back.Get("shop").Current.Version);
        Assert.Equal(Shop(2).ToCanonicalJson(), back.Get("shop").Current.Spec.ToCanonicalJson());
        Assert.Equal((AppCatalog.Empty.Apps.Count, (long?)null), (AppCatalog.Of(ClusterState.Empty).Catalog.Apps.Count, AppCatalog.Of(ClusterState.Empty).Revision));
    }

    [Fact]
    public void Deserialised_dictionaries_still_order_ordinally()
    {
        var spec = Valid("app: shop\nweb.main: { image: a, env: { b: 1, B: 2, a: 3, _x: 4 } }");

        var back = JsonSerializer.Deserialize(spec.ToCanonicalJson(), RuntimeJsonContext.Default.AppSpec)!;

        Assert.Equal(["B", "_x", "a", "b"], back.Components["web.main"].Env.Keys);
        Assert.Equal(spec.ToCanonicalJson(), back.ToCanonicalJson());
    }
}
