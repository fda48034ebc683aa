using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Cluster.Consensus;

using Xunit.Abstractions;

namespace Nanobox.Node.Tests.Consensus;

/// <summary>One in-process node: its data dir and ports survive restarts, like a real node's.</summary>
internal sealed class TestNode(string nodeId, string dataDir, TestTls tls, ILoggerFactory loggerFactory, bool bootstrap)
{
    public string NodeId { get; } = nodeId;

    public IPEndPoint Control { get; } = new(IPAddress.Loopback, FreePort());

    public ConsensusNode Node { get; private set; } = null!;

    public bool Running { get; private set; }

    public ConsensusOptions Options => new()
    {
        NodeId = NodeId,
        DataDir = dataDir,
        ControlEndPoint = Control,
        RequestsEndPoint = Requests,
        Bootstrap = bootstrap,
        SnapshotEvery = 4, // small, so tests cross snapshots and replay a WAL tail
    };

    public IPEndPoint Requests { get; } = new(IPAddress.Loopback, FreePort());

    public async Task StartAsync()
    {
        Node = new ConsensusNode(Options, tls, tls, loggerFactory);
        await Node.StartAsync(CancellationToken.None);
        Running = true;
    }

    public async Task StopAsync()
    {
        if (!Running)
            return;
        Running = false;
        await Node.DisposeAsync();
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}

/// <summary>Real Raft voters on loopback with mTLS from a throwaway CA, formed the way a cluster grows.</summary>
internal sealed class TestCluster : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private readonly string _root = Directory.CreateTempSubdirectory("nanobox-raft-").FullName;
    private readonly TestLogSink _logs;
    private readonly ILoggerFactory _loggerFactory;

    private TestCluster(ITestOutputHelper output)
    {
        _logs = new TestLogSink(output);
        _loggerFactory = _logs.CreateFactory();
    }

    public TestPki Pki { get; } = new();

    public List<TestNode> Nodes { get; } = [];

    public IEnumerable<string> LogLines => _logs.Lines;

    public IEnumerable<TestNode> Running => Nodes.Where(static n => n.Running);

    /// <summary>Node 1 bootstraps and leads alone, then adds the others as voters one at a time and writes the Bootstrap command.</summary>
    public static async Task<TestCluster> FormAsync(int voters, ITestOutputHelper output)
    {
        var cluster = new TestCluster(output);
        var first = await cluster.StartNewNodeAsync(bootstrap: true);
        await WaitUntilAsync(() => first.Node.IsLeader, "the bootstrap node to lead");
        for (var i = 1; i < voters; i++)
        {
            var node = await cluster.StartNewNodeAsync(bootstrap: false);
            Assert.True(await first.Node.AddVoterAsync(node.Control, CancellationToken.None), $"adding {node.NodeId} as voter");
        }

        await first.Node.ReplicateAsync(ClusterTransitionsTests.Bootstrap(first.NodeId), CancellationToken.None);
        return cluster;
    }

    public async Task<TestNode> StartNewNodeAsync(bool bootstrap = false, TestPki? issuer = null)
    {
        var id = $"n{Nodes.Count + 1}";
        var certificate = (issuer ?? Pki).Issue(id);
        var node = new TestNode(id, Path.Combine(_root, id), new TestTls(Pki.Ca, certificate), _loggerFactory, bootstrap);
        Nodes.Add(node);
        await node.StartAsync();
        return node;
    }

    /// <summary>Waits until exactly one running node leads and every running node names it.</summary>
    public async Task<TestNode> WaitForLeaderAsync()
    {
        TestNode? leader = null;
        await WaitUntilAsync(() =>
        {
            var leaders = Running.Where(static n => n.Node.IsLeader).ToList();
            leader = leaders.Count == 1 ? leaders[0] : null;
            return leader is not null && Running.All(n => Equals(n.Node.Leader, leader.Control));
        }, "exactly one leader that every running node knows");
        return leader!;
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > Patience)
                Assert.Fail($"gave up after {Patience.TotalSeconds} s waiting for {what}");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
            await node.StopAsync();
        _loggerFactory.Dispose();
        Pki.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
