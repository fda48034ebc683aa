using System.Collections.Immutable;
using Nanobox.Node.Runtime.Placement;
using Nanobox.Node.Runtime.Spec;

namespace Nanobox.Node.Tests.Runtime;

/// <summary>Random clusters and apps from fixed seeds: the planner's invariants hold for every one.</summary>
public sealed class PlacementPropertyTests
{
    private const long Mi = 1L << 20;
    private const int Cases = 400;

    private static readonly PlacementConstraint[] ConstraintPool =
    [
        new("node.label.zone", ConstraintOperator.Equal, "a"),
        new("node.label.zone", ConstraintOperator.NotEqual, "a"),
        new("node.label.zone", ConstraintOperator.Equal, "b"),
        new("node.label.disk", ConstraintOperator.Equal, "ssd"),
        new("node.name", ConstraintOperator.NotEqual, "h1"),
        new("node.id", ConstraintOperator.NotEqual, "n2"),
        new("node.id", ConstraintOperator.Equal, "n3"),
    ];

    public static TheoryData<int> Seeds() => [.. Enumerable.Range(0, 8).Select(static s => s * 7919)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Every_plan_respects_capacity_eligibility_and_constraints(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < Cases / 8; i++)
        {
            var input = RandomInput(random);
            var plan = PlacementPlanner.Plan(input);
            var nodes = input.Nodes.ToDictionary(static n => n.Id);
            var wanted = input.Instances.ToDictionary(static w => w.Key.ToString());

            // Every wanted instance is placed or explained, exactly once; nothing else appears.
            Assert.Equal(wanted.Keys.Order(StringComparer.Ordinal), plan.Placements.Keys.Concat(plan.Unplaced.Select(static u => u.Instance)).Order(StringComparer.Ordinal));

            foreach (var (key, nodeId) in plan.Placements)
            {
                var node = nodes[nodeId];
                Assert.True(node.Eligible, $"{key} on ineligible {nodeId}");
                Assert.True(node.Satisfies(wanted[key].Constraints), $"{key} on {nodeId} breaks its constraints");
                Assert.True(node.AcceptsNew || input.Current.GetValueOrDefault(key) == nodeId, $"{key} newly on {nodeId}, which accepts no new instances");
            }

            foreach (var node in input.Nodes)
            {
                var load = plan.Placements.Where(p => p.Value == node.Id).Select(p => wanted[p.Key]).ToList();
                Assert.True(load.Sum(static w => w.MemoryBytes) <= node.MemoryBytes, $"{node.Id} over its memory");
                Assert.True(load.Sum(static w => w.MilliCpus) <= node.MilliCpus, $"{node.Id} over its CPU");
            }

            // An unplaced instance really has no node left: none open, matching and with room in the final plan.
            foreach (var unplaced in plan.Unplaced)
            {
                var instance = wanted[unplaced.Instance];
                Assert.DoesNotContain(input.Nodes, n =>
                    n.Eligible && n.AcceptsNew && n.Satisfies(instance.Constraints)
                    && Free(plan, wanted, n).Memory >= instance.MemoryBytes && Free(plan, wanted, n).Cpu >= instance.MilliCpus);
                Assert.False(string.IsNullOrEmpty(unplaced.Reason));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Plans_are_stable_and_independent_of_input_order(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < Cases / 8; i++)
        {
            var input = RandomInput(random);
            var plan = PlacementPlanner.Plan(input);

            // Determinism: the same input shuffled (instances, nodes, each instance's constraints) plans the same.
            var shuffled = input with
            {
                Instances = [.. Shuffle(random, input.Instances).Select(w => w with { Constraints = [.. Shuffle(random, w.Constraints)] })],
                Nodes = [.. Shuffle(random, input.Nodes)],
            };
            AssertSamePlan(plan, PlacementPlanner.Plan(shuffled));

            // Stability: planning again from the plan changes nothing.
            var again = PlacementPlanner.Plan(input with { Current = plan.Placements });
            AssertSamePlan(plan, again);

            // A node lost: only its instances move; everything elsewhere stays where it was.
            var lost = input.Nodes[random.Next(input.Nodes.Length)].Id;
            var afterLoss = PlacementPlanner.Plan(input with
            {
                Current = plan.Placements,
                Nodes = [.. input.Nodes.Select(n => n.Id == lost ? n with { Eligible = false } : n)],
            });
            foreach (var (key, nodeId) in plan.Placements.Where(p => p.Value != lost))
                Assert.Equal(nodeId, afterLoss.Placements[key]);
            Assert.DoesNotContain(lost, afterLoss.Placements.Values);
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void On_equal_roomy_nodes_each_component_spreads_evenly(int seed)
    {
        var random = new Random(seed);
        var nodes = Enumerable.Range(1, random.Next(2, 7)).Select(static i => PlacementPlannerTests.Node($"n{i}", memory: 1L << 40, milliCpus: 1_000_000)).ToImmutableArray();
        var instances = Enumerable.Range(0, random.Next(1, 5))
            .SelectMany(c => Enumerable.Range(0, random.Next(1, 20)).Select(r => new WantedInstance(new InstanceKey("app", $"web.c{c}", r), [], 64 * Mi, 100)))
            .ToImmutableArray();

        var plan = PlacementPlanner.Plan(new PlacementInput(instances, nodes, ImmutableSortedDictionary<string, string>.Empty));

        Assert.Empty(plan.Unplaced);
        foreach (var component in instances.GroupBy(static w => w.Key.Component))
        {
            var perNode = nodes.Select(n => component.Count(w => plan.Placements[w.Key.ToString()] == n.Id)).ToList();
            Assert.True(perNode.Max() - perNode.Min() <= 1, $"{component.Key}: {string.Join(",", perNode)}");
        }
    }

    private static void AssertSamePlan(PlacementPlan expected, PlacementPlan actual)
    {
        Assert.Equal(expected.Placements, actual.Placements);
        Assert.Equal<UnplacedInstance>(expected.Unplaced, actual.Unplaced);
        Assert.Equal(expected, actual);
    }

    private static (long Memory, long Cpu) Free(PlacementPlan plan, Dictionary<string, WantedInstance> wanted, PlacementNode node)
    {
        var load = plan.Placements.Where(p => p.Value == node.Id).Select(p => wanted[p.Key]).ToList();
        return (node.MemoryBytes - load.Sum(static w => w.MemoryBytes), node.MilliCpus - load.Sum(static w => (long)w.MilliCpus));
    }

    private static PlacementInput RandomInput(Random random)
    {
        var nodes = Enumerable.Range(1, random.Next(1, 8)).Select(i =>
        {
            var labels = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
            if (random.Next(4) > 0)
                labels["zone"] = random.Next(3) switch { 0 => "a", 1 => "b", _ => "c" };
            if (random.Next(2) == 0)
                labels["disk"] = "ssd";
            var eligible = random.Next(10) < 8;
            return new PlacementNode($"n{i}", $"h{i}", labels.ToImmutable(), random.Next(2, 33) * 128 * Mi, random.Next(1, 9) * 1000, eligible, random.Next(10) < 9);
        }).ToImmutableArray();

        var instances = new List<WantedInstance>();
        foreach (var app in Enumerable.Range(0, random.Next(1, 4)).Select(static a => $"app{a}"))
        {
            foreach (var component in Enumerable.Range(0, random.Next(1, 5)).Select(static c => $"web.c{c}"))
            {
                var constraints = Enumerable.Range(0, random.Next(0, 3)).Select(_ => ConstraintPool[random.Next(ConstraintPool.Length)]).Distinct().ToImmutableArray();
                var memory = random.Next(1, 17) * 64 * Mi;
                var cpu = random.Next(1, 21) * 100;
                instances.AddRange(Enumerable.Range(0, random.Next(1, 7)).Select(r => new WantedInstance(new InstanceKey(app, component, r), constraints, memory, cpu)));
            }
        }

        // A current map as a cluster might have it: a previous plan's leftovers, ghosts and strays included.
        var current = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var instance in instances.Where(_ => random.Next(2) == 0))
            current[instance.Key.ToString()] = random.Next(10) == 0 ? "n-ghost" : nodes[random.Next(nodes.Length)].Id;
        current["old/web.x#0"] = nodes[0].Id;

        return new PlacementInput([.. instances], nodes, current.ToImmutable());
    }

    private static List<T> Shuffle<T>(Random random, IEnumerable<T> items)
    {
        var list = items.ToList();
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }

        return list;
    }
}
