using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Firewall;
using Nanobox.Node.Host;
using Nanobox.Node.Storage;

namespace Nanobox.Node.Tests.Firewall;

/// <summary>
/// The firewall loop reconciles when the cluster's state changes (<see cref="FirewallManager.Wake"/>), not only at its
/// periodic tick. The tick is stretched past the test, so any reconcile seen was woken; the cluster has no view yet,
/// so a reconcile reads it and stops there, never touching the kernel.
/// </summary>
public sealed class FirewallManagerWakeTests : IDisposable
{
    /// <summary>Real time for the loop to get round to a reconcile: generous, as only "at all" is asserted.</summary>
    private static readonly TimeSpan Settles = TimeSpan.FromSeconds(10);

    private readonly string _dir = Directory.CreateTempSubdirectory("nanobox-firewall-wake-").FullName;
    private readonly LiteDbNodeStore _store;
    private readonly FirewallManager _firewall;
    private readonly ViewCounter _cluster = new();

    public FirewallManagerWakeTests()
    {
        _store = LiteDbNodeStore.Open(_dir);
        var options = new AgentOptions
        {
            ConfigPath = Path.Combine(_dir, "none.toml"),
            DataDir = _dir,
            SocketPath = Path.Combine(_dir, "admin.sock"),
            Name = "unit",
        };
        var node = new NodeContext(new NodeIdentity(NodeIdentity.NewId(), DateTimeOffset.UtcNow), options, IPAddress.Parse("192.0.2.7"));
        _firewall = new FirewallManager(node, _store, NullLoggerFactory.Instance) { ReconcileInterval = TimeSpan.FromHours(1) };
    }

    public void Dispose()
    {
        _firewall.Dispose();
        _store.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Each_wake_makes_the_running_loop_reconcile_long_before_its_tick()
    {
        using var stop = new CancellationTokenSource();
        var loop = _firewall.RunAsync(_cluster, stop.Token);

        _firewall.Wake();
        Assert.True(await _cluster.Read.WaitAsync(Settles), "a wake starts a reconcile");
        _firewall.Wake();
        Assert.True(await _cluster.Read.WaitAsync(Settles), "the next wake starts another");

        await stop.CancelAsync();
        await loop;
    }

    [Fact]
    public async Task Wakes_before_the_loop_waits_are_kept_not_lost()
    {
        _firewall.Wake();
        _firewall.Wake();

        using var stop = new CancellationTokenSource();
        var loop = _firewall.RunAsync(_cluster, stop.Token);

        Assert.True(await _cluster.Read.WaitAsync(Settles), "a state change that came before the loop waited still starts a reconcile");
        await stop.CancelAsync();
        await loop;
    }

    /// <summary>A cluster with no view yet that counts how often the firewall reads it: once per reconcile.</summary>
    private sealed class ViewCounter : IFirewallCluster
    {
        public SemaphoreSlim Read { get; } = new(0);

        public FirewallClusterView? View()
        {
            Read.Release();
            return null;
        }

        public Task<IReadOnlyList<PortReach>> ProbeBackAsync(string nodeId, IPAddress address, IReadOnlyList<int> ports, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("a node with no cluster view asks no peer to probe it back");
    }
}
