using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Nanobox.Node.Cluster.Membership;

namespace Nanobox.Node.Tests.Cluster;

/// <summary>Three engines on real UDP/TCP sockets over 127.0.0.1, in real time.</summary>
public sealed class UdpTcpGossipTransportTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private readonly List<Memberlist> _nodes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            // A stop that never finishes is a failure to report, not a reason to hang the whole run.
            await node.DisposeAsync().AsTask().WaitAsync(Patience);
        }
    }

    [Fact]
    public async Task Three_nodes_on_loopback_converge_and_detect_a_stopped_node()
    {
        var endpoints = new List<IPEndPoint>();
        for (var i = 0; i < 3; i++)
        {
            var transport = UdpTcpGossipTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0), NullLogger<UdpTcpGossipTransport>.Instance);
            var endpoint = transport.LocalEndpoint;
            var meta = new NodeMeta($"real{i}", [endpoint.Address], endpoint.Port, 0, "worker", "0.1.0", new Dictionary<string, string>());
            var node = new Memberlist(
                Nanobox.Node.Storage.NodeIdentity.NewId(), meta, 1, new MembershipOptions(), transport, new MarkerProtector(),
                new PassThroughStreamSecurity(), TimeProvider.System, new Random(i), NullLogger<Memberlist>.Instance);
            node.Start();
            _nodes.Add(node);
            endpoints.Add(endpoint);
        }

        using var joining = new CancellationTokenSource(Patience);
        Assert.Equal(1, await _nodes[1].JoinAsync([endpoints[0]], joining.Token));
        Assert.Equal(1, await _nodes[2].JoinAsync([endpoints[1]], joining.Token));
        await Until(() => _nodes.All(n => n.Members().Count(m => m.State == MemberState.Alive) == 3), "all three see three alive members");

        var stopped = _nodes[2];
        var stopwatch = Stopwatch.StartNew();
        await stopped.DisposeAsync().AsTask().WaitAsync(Patience);
        await Until(() => _nodes.Take(2).All(n => n.Find(stopped.LocalId)?.State == MemberState.Dead), "the stopped node is declared dead");

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(6), $"detected after {stopwatch.Elapsed}");
        Assert.All(_nodes.Take(2), n => Assert.True(n.Counters.DatagramsReceived > 0 && n.Counters.TotalDropped == 0));
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < Patience, $"timed out waiting until {what}");
            await Task.Delay(20);
        }
    }
}
