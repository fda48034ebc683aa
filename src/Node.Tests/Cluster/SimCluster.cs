using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Nanobox.Node.Cluster;
using Nanobox.Node.Cluster.Membership;

namespace Nanobox.Node.Tests.Cluster;

/// <summary>Memberlist engines on a <see cref="SimulatedNetwork"/> under one <see cref="VirtualClock"/>, deterministic for a seed.</summary>
internal sealed class SimCluster : IDisposable
{
    private readonly Random _random;
    private readonly SynchronizationContext? _testContext = SynchronizationContext.Current;
    private int _hosts;

    public SimCluster(int seed, MembershipOptions? options = null)
    {
        // Continuations run inline (keeping the simulation on this thread) only where no synchronization
        // context is installed; xunit installs one. Restored on dispose.
        SynchronizationContext.SetSynchronizationContext(null);
        _random = new Random(seed);
        Network = new SimulatedNetwork(Clock, new Random(seed ^ 0x5eed));
        Options = options ?? new MembershipOptions();
    }

    public VirtualClock Clock { get; } = new();

    public SimulatedNetwork Network { get; }

    public MembershipOptions Options { get; }

    public List<SimNode> Nodes { get; } = [];

    /// <summary>The nodes still running.</summary>
    public IEnumerable<SimNode> Live => Nodes.Where(n => !n.Stopped);

    /// <summary>Starts <paramref name="count"/> nodes, each joining through the first.</summary>
    public static SimCluster Start(int count, int seed, MembershipOptions? options = null)
    {
        var cluster = new SimCluster(seed, options);
        var first = cluster.Add();
        for (var i = 1; i < count; i++)
        {
            cluster.Join(cluster.Add(), first);
        }

        return cluster;
    }

    /// <summary>Starts a node on a new host address (or as <paramref name="id"/> restarting with <paramref name="incarnation"/>).</summary>
    public SimNode Add(string? id = null, uint incarnation = 1)
    {
        var host = ++_hosts;
        var address = new IPAddress([127, 10, (byte)(host >> 8), (byte)host]);
        var endpoint = new IPEndPoint(address, ClusterPorts.Gossip);
        var meta = new NodeMeta($"node{host}", [address], ClusterPorts.Gossip, ClusterPorts.Control, "worker", "0.1.0", new Dictionary<string, string>());
        var list = new Memberlist(
            id ?? NewId(_random), meta, incarnation, Options, Network.Attach(endpoint), new MarkerProtector(),
            new PassThroughStreamSecurity(), Clock, new Random(_random.Next()), NullLogger<Memberlist>.Instance);
        var node = new SimNode(list, endpoint);
        list.Start();
        Nodes.Add(node);
        return node;
    }

    public void Join(SimNode node, SimNode seed)
    {
        var join = node.List.JoinAsync([seed.Endpoint], CancellationToken.None);
        Assert.True(join.IsCompleted, "an in-memory join completes inline");
        Assert.Equal(1, join.Result);
    }

    /// <summary>
    /// The result of <paramref name="task"/>, waited for in real time with no virtual time passing: for work whose last
    /// steps run on the thread pool (an abandoned exchange's cancellation), not for work that waits on the clock.
    /// </summary>
    public static T Settle<T>(Task<T> task)
    {
        Assert.True(task.Wait(TimeSpan.FromSeconds(10)), "the task settles without virtual time passing");
        return task.Result;
    }

    /// <summary>Kills a node as kill -9 would: its host drops off the network and its loops stop, with no leave.</summary>
    public void Kill(SimNode node)
    {
        Network.Kill(node.Endpoint.Address);
        node.Stop();
    }

    public void Run(TimeSpan duration) => Clock.Advance(duration);

    /// <summary>Advances in small steps until <paramref name="condition"/> holds; the virtual time it took, or null if it never did.</summary>
    public TimeSpan? RunUntil(Func<bool> condition, TimeSpan limit, TimeSpan? step = null)
    {
        var start = Clock.Elapsed;
        while (!condition())
        {
            if (Clock.Elapsed - start >= limit)
            {
                return null;
            }

            Clock.Advance(step ?? TimeSpan.FromMilliseconds(10));
        }

        return Clock.Elapsed - start;
    }

    /// <summary>Every running node other than <paramref name="subject"/> sees it in <paramref name="state"/>.</summary>
    public bool AllSee(SimNode subject, MemberState state) =>
        Live.Where(n => n != subject).All(n => n.StateOf(subject) == state);

    /// <summary>Every running node sees every running node alive.</summary>
    public bool Converged()
    {
        var live = Live.ToList();
        return live.All(observer => live.All(subject => observer.StateOf(subject) == MemberState.Alive));
    }

    public void Dispose()
    {
        foreach (var node in Live)
        {
            node.Stop();
        }

        SynchronizationContext.SetSynchronizationContext(_testContext);
    }

    /// <summary>A node id as NodeIdentity makes them, from the seeded generator.</summary>
    private static string NewId(Random random)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        return new string([.. Enumerable.Range(0, NodeId.Length).Select(_ => alphabet[random.Next(32)])]);
    }
}

internal sealed class SimNode
{
    private readonly MembershipEvents.Subscription _events;
    private readonly List<MembershipEvent> _seen = [];

    public SimNode(Memberlist list, IPEndPoint endpoint)
    {
        List = list;
        Endpoint = endpoint;
        _events = list.Events.Subscribe();
    }

    public Memberlist List { get; }

    public IPEndPoint Endpoint { get; }

    public string Id => List.LocalId;

    public bool Stopped { get; private set; }

    /// <summary>Every event this node has published so far, in order.</summary>
    public IReadOnlyList<MembershipEvent> Events
    {
        get
        {
            while (_events.Reader.TryRead(out var e))
            {
                _seen.Add(e);
            }

            return _seen;
        }
    }

    public MemberState? StateOf(SimNode other) => List.Find(other.Id)?.State;

    public IEnumerable<MembershipEvent> EventsAbout(SimNode other) => Events.Where(e => e.Member.Id == other.Id);

    public void Stop()
    {
        if (Stopped)
        {
            return;
        }

        Stopped = true;
        var stop = List.DisposeAsync().AsTask();
        Assert.True(stop.Wait(TimeSpan.FromSeconds(10)), "a node stops promptly");
    }
}
