using System.Net;

namespace Nanobox.Node.Cluster.Membership;

/// <summary>
/// Moves gossip bytes: unreliable datagrams (probes, gossip) and reliable streams (push/pull, TCP probe).
/// Bytes are opaque here: sealing and decoding happen above. <see cref="UdpTcpGossipTransport"/> uses real
/// sockets; tests use an in-memory network under virtual time.
/// </summary>
public interface IGossipTransport : IAsyncDisposable
{
    /// <summary>Where this transport receives (its bound address and actual port).</summary>
    IPEndPoint LocalEndpoint { get; }

    /// <summary>Starts delivering received datagrams and accepted streams to <paramref name="receiver"/>.</summary>
    void Start(IGossipReceiver receiver);

    /// <summary>Best effort, never blocks for long: UDP semantics. Failures are logged by the transport, not thrown.</summary>
    void SendDatagram(IPEndPoint to, ReadOnlySpan<byte> datagram);

    /// <summary>Opens a reliable stream to <paramref name="to"/>; throws if it cannot be reached.</summary>
    Task<Stream> ConnectAsync(IPEndPoint to, CancellationToken cancellationToken);
}

/// <summary>The gossip engine's side of a transport.</summary>
public interface IGossipReceiver
{
    /// <summary>A received datagram; the span is valid only during the call.</summary>
    void OnDatagram(IPEndPoint from, ReadOnlySpan<byte> datagram);

    /// <summary>An accepted stream; the receiver owns and disposes it.</summary>
    Task OnStreamAsync(Stream stream, IPEndPoint from, CancellationToken cancellationToken);
}
