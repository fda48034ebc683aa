using System.Net;
using Nanobox.Node.Cluster.Membership;

namespace Nanobox.Node.Tests.Cluster;

/// <summary>
/// An in-memory network under virtual time: datagrams are delayed by <see cref="Latency"/> and dropped with
/// a per-link loss rate; hosts can be killed (datagrams vanish, connections are refused at once, as when a
/// process dies) or partitioned (everything across the cut vanishes, connections hang until they time out).
/// Streams are reliable in-memory pipes: TCP's retransmissions hide datagram loss.
/// </summary>
internal sealed class SimulatedNetwork(VirtualClock clock, Random random)
{
    private readonly Dictionary<IPEndPoint, Host> _hosts = [];
    private readonly Dictionary<(IPAddress From, IPAddress To), double> _linkLoss = [];
    private readonly Dictionary<IPAddress, int> _partition = [];
    private readonly HashSet<IPAddress> _killed = [];

    public double LossRate { get; set; }

    public TimeSpan Latency { get; set; } = TimeSpan.FromMilliseconds(1);

    public long DatagramsDropped { get; private set; }

    public IGossipTransport Attach(IPEndPoint endpoint)
    {
        var host = new Host(this, endpoint);
        _hosts[endpoint] = host;
        _killed.Remove(endpoint.Address);
        return host;
    }

    public void SetLinkLoss(IPAddress from, IPAddress to, double loss) => _linkLoss[(from, to)] = loss;

    /// <summary>The process at <paramref name="address"/> dies: nothing in or out, connections refused.</summary>
    public void Kill(IPAddress address) => _killed.Add(address);

    /// <summary>Splits the network: hosts in different groups cannot reach each other; unlisted hosts are in group 0.</summary>
    public void Partition(params IEnumerable<IPAddress>[] groups)
    {
        _partition.Clear();
        for (var i = 0; i < groups.Length; i++)
        {
            foreach (var address in groups[i])
            {
                _partition[address] = i + 1;
            }
        }
    }

    public void Heal() => _partition.Clear();

    private bool Partitioned(IPAddress a, IPAddress b) => _partition.GetValueOrDefault(a) != _partition.GetValueOrDefault(b);

    private bool CanReach(IPEndPoint from, IPEndPoint to) =>
        !_killed.Contains(from.Address) && !_killed.Contains(to.Address) && !Partitioned(from.Address, to.Address);

    private void Send(IPEndPoint from, IPEndPoint to, byte[] datagram)
    {
        var loss = _linkLoss.GetValueOrDefault((from.Address, to.Address), LossRate);
        if (!CanReach(from, to) || random.NextDouble() < loss)
        {
            DatagramsDropped++;
            return;
        }

        // Already on the wire: it arrives even if the sender dies meanwhile, not if the receiver did or the network split.
        clock.Schedule(Latency, () =>
        {
            if (!_killed.Contains(to.Address) && !Partitioned(from.Address, to.Address) && _hosts.TryGetValue(to, out var host))
            {
                host.Receiver?.OnDatagram(from, datagram);
            }
        });
    }

    private async Task<Stream> ConnectAsync(IPEndPoint from, IPEndPoint to, CancellationToken cancellationToken)
    {
        if (Partitioned(from.Address, to.Address) || _killed.Contains(from.Address))
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, clock, cancellationToken).ConfigureAwait(false);
        }

        if (_killed.Contains(to.Address) || !_hosts.TryGetValue(to, out var host) || host.Receiver is null)
        {
            throw new IOException($"connection to {to} refused");
        }

        var (client, server) = InMemoryStream.CreatePair();
        _ = host.Receiver.OnStreamAsync(server, from, CancellationToken.None);
        return client;
    }

    private sealed class Host(SimulatedNetwork network, IPEndPoint endpoint) : IGossipTransport
    {
        public IGossipReceiver? Receiver { get; private set; }

        public IPEndPoint LocalEndpoint => endpoint;

        public void Start(IGossipReceiver receiver) => Receiver = receiver;

        public void SendDatagram(IPEndPoint to, ReadOnlySpan<byte> datagram) => network.Send(endpoint, to, datagram.ToArray());

        public Task<Stream> ConnectAsync(IPEndPoint to, CancellationToken cancellationToken) => network.ConnectAsync(endpoint, to, cancellationToken);

        public ValueTask DisposeAsync()
        {
            if (network._hosts.GetValueOrDefault(endpoint) == this)
            {
                network._hosts.Remove(endpoint);
            }

            return ValueTask.CompletedTask;
        }
    }
}
