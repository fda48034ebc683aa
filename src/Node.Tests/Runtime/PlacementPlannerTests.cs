using System.Collections.Immutable;
using Nanobox.Node.Runtime.Placement;
using Nanobox.Node.Runtime.Spec;
using static Nanobox.Node.Tests.Runtime.SpecTestData;

namespace Nanobox.Node.Tests.Runtime;

public sealed class PlacementPlannerTests
{
    private const long Mi = 1L << 20;
    private const long Gi = 1L << 30;

    internal static PlacementNode Node(string id, long memory = 4 * Gi, int milliCpus = 4000, bool eligible = true, bool acceptsNew = true, string labels = "") =>
        new(id, "h" + id[1..], ParseLabels(labels), memory, milliCpus, eligible, acceptsNew);

    private static ImmutableSortedDictionary<string, string> ParseLabels(string labels) =>
        labels.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(static l => l.Split('='))
            .ToImmutableSortedDictionary(static p => p[0], static p => p[1], StringComparer.Ordinal);

    private static WantedInstance Instance(string component, int index, long memory = 256 * Mi, int milliCpus = 100, params string[] constraints) =>
        new(new InstanceKey("shop", component, index), [.. constraints.Select(Constraint)], memory, milliCpus);

    private static PlacementConstraint Constraint(string text) =>
        ValidWebMain($"constraints: [\"{text}\"]").Constraints[0];

    private static IEnumerable<WantedInstance> Replicas(string component, int count, long memory = 256 * Mi, int milliCpus = 100, params string[] constraints) =>
        Enumerable.Range(0, count).Select(i => Instance(component, i, memory, milliCpus, constraints));

    private static PlacementPlan Plan(IEnumerable<WantedInstance> instances, IEnumerable<PlacementNode> nodes, IDictionary<string, string>? current = null) =>
        PlacementPlanner.Plan(new PlacementInput(
            [.. instances],
            [.. nodes],
            (current ?? new Dictionary<string, string>()).ToImmutableSortedDictionary(StringComparer.Ordinal)));

    private static Dictionary<string, int> CountPerNode(PlacementPlan plan) =>
        plan.Placements.GroupBy(static p => p.Value).ToDictionary(static g => g.Key, static g => g.Count());

    [Fact]
    public void Replicas_spread_one_per_node_first()
    {
        var plan = Plan(Replicas("web.main", 3), [Node("n1"), Node("n2"), Node("n3")]);

        Assert.Equal(["n1", "n2", "n3"], plan.Placements.Values.Order());
        Assert.Empty(plan.Unplaced);
    }

    [Fact]
    public void More_replicas_than_nodes_share_evenly()
    {
        var plan = Plan(Replicas("web.main", 7), [Node("n1"), Node("n2"), Node("n3")]);

        Assert.Equal([2, 2, 3], CountPerNode(plan).Values.Order());
    }

    [Fact]
    public void Components_spread_on_their_own_then_by_total_load()
    {
        // web.main#0 on n1 already; the new worker goes to the emptier n2, then web.main#1 avoids n1.
        var plan = Plan(
            [Instance("web.main", 0), Instance("web.main", 1), Instance("worker.jobs", 0, memory: 512 * Mi)],
            [Node("n1"), Node("n2")],
            new Dictionary<string, string> { ["shop/web.main#0"] = "n1" });

        Assert.Equal("n1", plan.Placements["shop/web.main#0"]);
        Assert.Equal("n2", plan.Placements["shop/worker.jobs#0"]);
        Assert.Equal("n2", plan.Placements["shop/web.main#1"]);
    }

    [Fact]
    public void Ties_go_to_the_most_free_memory_then_the_lowest_id()
    {
        Assert.Equal("n2", Plan([Instance("web.main", 0)], [Node("n1", memory: 2 * Gi), Node("n2", memory: 3 * Gi)]).Placements["shop/web.main#0"]);
        Assert.Equal("n1", Plan([Instance("web.main", 0)], [Node("n2"), Node("n1")]).Placements["shop/web.main#0"]);
    }

    [Fact]
    public void Running_instances_stay_put_even_when_unbalanced()
    {
        var current = new Dictionary<string, string> { ["shop/web.main#0"] = "n1", ["shop/web.main#1"] = "n1", ["shop/web.main#2"] = "n1" };

        var plan = Plan(Replicas("web.main", 3), [Node("n1"), Node("n2"), Node("n3")], current);

        Assert.Equal(current.OrderBy(static p => p.Key, StringComparer.Ordinal), plan.Placements);
    }

    [Fact]
    public void Instances_on_an_ineligible_node_move_and_the_others_do_not()
    {
        var first = Plan(Replicas("web.main", 3), [Node("n1"), Node("n2"), Node("n3")]);

        var second = Plan(Replicas("web.main", 3), [Node("n1"), Node("n2", eligible: false), Node("n3")], first.Placements);

        Assert.DoesNotContain("n2", second.Placements.Values);
        Assert.All(first.Placements.Where(static p => p.Value != "n2"), p => Assert.Equal(p.Value, second.Placements[p.Key]));
        Assert.Equal("n1", second.Placements[first.Placements.Single(static p => p.Value == "n2").Key]);
    }

    [Fact]
    public void A_node_in_its_grace_time_keeps_its_instances_but_gets_no_new_ones()
    {
        var current = new Dictionary<string, string> { ["shop/web.main#0"] = "n2" };

        var plan = Plan(Replicas("web.main", 3), [Node("n1"), Node("n2", acceptsNew: false)], current);

        Assert.Equal("n2", plan.Placements["shop/web.main#0"]);
        Assert.Equal(["n1", "n1"], plan.Placements.Where(static p => p.Key != "shop/web.main#0").Select(static p => p.Value));
    }

    [Fact]
    public void Removed_components_and_replicas_leave_the_map()
    {
        var current = new Dictionary<string, string>
        {
            ["shop/web.main#0"] = "n1",
            ["shop/web.main#1"] = "n2",
            ["shop/web.main#2"] = "n3",
            ["shop/worker.old#0"] = "n1",
            ["gone/web.main#0"] = "n2",
        };

        var plan = Plan(Replicas("web.main", 2), [Node("n1"), Node("n2"), Node("n3")], current);

        Assert.Equal(["shop/web.main#0", "shop/web.main#1"], plan.Placements.Keys);
        Assert.Equal(["n1", "n2"], plan.Placements.Values);
    }

    [Fact]
    public void Constraints_choose_nodes_and_a_changed_constraint_moves_the_instance()
    {
        PlacementNode[] nodes = [Node("n1", labels: "zone=a"), Node("n2", labels: "zone=b"), Node("n3")];

        Assert.Equal("n2", Plan([Instance("web.main", 0, constraints: "node.label.zone == b")], nodes).Placements["shop/web.main#0"]);
        Assert.Equal("n3", Plan([Instance("web.main", 0, constraints: ["node.label.zone != a", "node.id != n2"])], nodes).Placements["shop/web.main#0"]);
        Assert.Equal("n2", Plan([Instance("web.main", 0, constraints: ["node.name == h2"])], nodes).Placements["shop/web.main#0"]);

        var moved = Plan([Instance("web.main", 0, constraints: "node.name != h1")], nodes, new Dictionary<string, string> { ["shop/web.main#0"] = "n1" });
        Assert.Equal("n2", moved.Placements["shop/web.main#0"]);
    }

    [Fact]
    public void Unplaceable_instances_say_which_constraint_no_node_matches()
    {
        PlacementNode[] nodes = [Node("n1", labels: "zone=a"), Node("n2", labels: "zone=b")];

        var plan = Plan(
            [
                Instance("web.main", 2, constraints: ["node.label.zone == c", "node.name != h9"]),
                Instance("web.api", 0, constraints: ["node.label.zone == a", "node.name == h2"]),
            ],
            nodes);

        Assert.Empty(plan.Placements);
        Assert.Equal(
        [
            "shop/web.api#0: no eligible node matches all of node.label.zone == a, node.name == h2",
            "shop/web.main#2: no eligible node matches node.label.zone == c",
        ],
            plan.Unplaced.Select(static u => u.ToString()));
    }

    [Fact]
    public void Resources_are_reserved_and_shortfalls_are_explained()
    {
        PlacementNode[] nodes = [Node("n1", memory: 700 * Mi, milliCpus: 1000), Node("n2", memory: 300 * Mi, milliCpus: 4000)];

        var plan = Plan(
            [
                Instance("web.big", 0, memory: 512 * Mi, milliCpus: 500),
                Instance("web.huge", 0, memory: 1 * Gi),
                Instance("web.cpu", 0, memory: 250 * Mi, milliCpus: 1000),
                Instance("web.both", 0, memory: 150 * Mi, milliCpus: 600),
            ],
            nodes);

        // big fits only n1 (188 MiB and 0.5 CPUs left), cpu then only n2 (50 MiB and 3 CPUs left):
        // both finds its memory on n1 and its CPU on n2, but not on one node.
        Assert.Equal("n1", plan.Placements["shop/web.big#0"]);
        Assert.Equal("n2", plan.Placements["shop/web.cpu#0"]);
        Assert.Equal(
        [
            "shop/web.both#0: no eligible node has both 150 MiB of memory and 0.6 CPUs free",
            "shop/web.huge#0: not enough memory: needs 1 GiB, the most free on an eligible node is 188 MiB",
        ],
            plan.Unplaced.Select(static u => u.ToString()));

        var cpu = Plan([Instance("web.main", 0, milliCpus: 5000, constraints: "node.id != n9")], nodes);
        Assert.Equal("shop/web.main#0: not enough CPU: needs 5, the most free on an eligible node that matches its constraints is 4", cpu.Unplaced.Single().ToString());
    }

    [Fact]
    public void The_largest_instances_are_placed_first_so_they_still_fit()
    {
        // In key order a and b would take one node each and leave no node with 2 GiB for z.
        var plan = Plan(
            [Instance("web.a", 0, memory: 1 * Gi), Instance("web.b", 0, memory: 1 * Gi), Instance("web.z", 0, memory: 2 * Gi)],
            [Node("n1", memory: 2 * Gi), Node("n2", memory: 2 * Gi)]);

        Assert.Empty(plan.Unplaced);
        Assert.Equal("n1", plan.Placements["shop/web.z#0"]);
        Assert.Equal(("n2", "n2"), (plan.Placements["shop/web.a#0"], plan.Placements["shop/web.b#0"]));
    }

    [Fact]
    public void An_overfull_node_keeps_what_fits_and_the_rest_moves()
    {
        var current = new Dictionary<string, string> { ["shop/web.main#0"] = "n1", ["shop/web.main#1"] = "n1", ["shop/web.main#2"] = "n1" };

        var plan = Plan(Replicas("web.main", 3, memory: 1 * Gi), [Node("n1", memory: 2 * Gi), Node("n2")], current);

        Assert.Equal(("n1", "n1", "n2"), (plan.Placements["shop/web.main#0"], plan.Placements["shop/web.main#1"], plan.Placements["shop/web.main#2"]));
    }

    [Fact]
    public void An_unknown_node_in_the_current_map_is_replaced()
    {
        var plan = Plan([Instance("web.main", 0)], [Node("n1")], new Dictionary<string, string> { ["shop/web.main#0"] = "n-gone" });

        Assert.Equal("n1", plan.Placements["shop/web.main#0"]);
    }

    [Fact]
    public void Without_open_nodes_nothing_is_placed_and_the_reason_says_so()
    {
        const string reason = "shop/web.main#0: no node can take new instances (every node is down, in its grace time or draining)";

        Assert.Equal(reason, Plan([Instance("web.main", 0)], []).Unplaced.Single().ToString());
        Assert.Equal(reason, Plan([Instance("web.main", 0)], [Node("n1", eligible: false), Node("n2", acceptsNew: false)]).Unplaced.Single().ToString());
    }

    [Fact]
    public void Contradictory_input_is_refused()
    {
        Assert.Throws<ArgumentException>(() => Plan([], [Node("n1"), Node("n1")]));
        Assert.Throws<ArgumentException>(() => Plan([Instance("web.main", 0), Instance("web.main", 0)], [Node("n1")]));
        Assert.Throws<ArgumentException>(() => Plan([Instance("web.main", 0, memory: -1)], [Node("n1")]));
        Assert.Throws<ArgumentException>(() => Plan([], [Node("n1", memory: -1)]));
    }

    [Fact]
    public void Wanted_instances_come_from_every_components_replicas()
    {
        var spec = Valid("app: shop\nweb.main: { image: a, replicas: 2, resources: { memory: 64M, cpus: 0.2 }, constraints: [\"node.id != n1\"] }\nworker.jobs: { image: a }");

        var instances = WantedInstance.Of(spec).ToList();

        Assert.Equal(["shop/web.main#0", "shop/web.main#1", "shop/worker.jobs#0"], instances.Select(static i => i.Key.ToString()));
        Assert.Equal((64 * Mi, 200), (instances[0].MemoryBytes, instances[0].MilliCpus));
        Assert.Equal("node.id != n1", instances[1].Constraints.Single().ToString());
        Assert.Equal((256 * Mi, 1000), (instances[2].MemoryBytes, instances[2].MilliCpus));
    }

    [Fact]
    public void Instance_keys_format_parse_and_order_by_number()
    {
        var key = new InstanceKey("shop", "web.main", 12);

        Assert.Equal("shop/web.main#12", key.ToString());
        Assert.True(InstanceKey.TryParse("shop/web.main#12", out var parsed));
        Assert.Equal(key, parsed);
        Assert.True(new InstanceKey("shop", "web.main", 2).CompareTo(key) < 0);
        Assert.True(new InstanceKey("blog", "web.main", 20).CompareTo(key) < 0);
        foreach (var bad in new[] { "shop/web.main", "web.main#1", "/web.main#1", "shop/#1", "shop/web.main#-1", "shop/web.main#01", "shop/web.main#x" })
            Assert.False(InstanceKey.TryParse(bad, out _), bad);
    }
}
