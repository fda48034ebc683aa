using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Nanobox.Node.Cluster.Membership;

/// <summary>
/// Gossip over real sockets: one UDP socket for datagrams and one TCP listener for streams, on the same
/// address and port (<see cref="ClusterPorts.Gossip"/> by default). Binding <see cref="IPAddress.IPv6Any"/>
/// makes both dual-stack. Port 0 picks a port free for both (tests).
/// </summary>
public sealed partial class UdpTcpGossipTransport : IGossipTransport
{
    /// <summary>Largest UDP payload; anything the protector or codec cannot use is dropped above.</summary>
    private const int ReceiveBufferSize = 65536;

    private const int PortAttempts = 20;

    private readonly Socket _udp;
    private readonly Socket _tcp;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Task[] _loops = [];

    private UdpTcpGossipTransport(Socket udp, Socket tcp, ILogger<UdpTcpGossipTransport> logger)
    {
        _udp = udp;
        _tcp = tcp;
        _logger = logger;
        LocalEndpoint = (IPEndPoint)udp.LocalEndPoint!;
    }

    private int _disposed;

    public IPEndPoint LocalEndpoint { get; }

    /// <summary>Binds UDP and TCP on <paramref name="endpoint"/>; throws <see cref="SocketException"/> if the port is taken.</summary>
    public static UdpTcpGossipTransport Bind(IPEndPoint endpoint, ILogger<UdpTcpGossipTransport> logger)
    {
        for (var attempt = 1; ; attempt++)
        {
            var udp = NewSocket(endpoint, SocketType.Dgram, ProtocolType.Udp);
            var tcp = NewSocket(endpoint, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                udp.Bind(endpoint);
                tcp.Bind(new IPEndPoint(endpoint.Address, ((IPEndPoint)udp.LocalEndPoint!).Port));
                tcp.Listen(128);
                return new UdpTcpGossipTransport(udp, tcp, logger);
            }
            catch (SocketException e) when (endpoint.Port == 0 && e.SocketErrorCode == SocketError.AddressAlreadyInUse && attempt < PortAttempts)
            {
                udp.Dispose();
                tcp.Dispose();
            }
            catch
            {
                udp.Dispose();
                tcp.Dispose();
                throw;
            }
        }
    }

    public void Start(IGossipReceiver receiver)
    {
        var stopping = _stopping.Token;
        _loops = [ReceiveLoopAsync(receiver, stopping), AcceptLoopAsync(receiver, stopping)];
    }

    public void SendDatagram(IPEndPoint to, ReadOnlySpan<byte> datagram)
    {
        try
        {
            _udp.SendTo(datagram, SocketFlags.None, to);
        }
        catch (SocketException e)
        {
            Log.SendFailed(_logger, to, e.SocketErrorCode);
        }
    }

    public async Task<Stream> ConnectAsync(IPEndPoint to, CancellationToken cancellationToken)
    {
        var socket = new Socket(to.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(to, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _udp.Dispose();
        _tcp.Dispose();
        await Task.WhenAll(_loops).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private static Socket NewSocket(IPEndPoint endpoint, SocketType type, ProtocolType protocol)
    {
        var socket = new Socket(endpoint.AddressFamily, type, protocol);
        if (endpoint.Address.Equals(IPAddress.IPv6Any))
        {
            socket.DualMode = true;
        }

        return socket;
    }

    private static IPEndPoint Normalize(EndPoint endpoint)
    {
        var ip = (IPEndPoint)endpoint;
        return ip.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(ip.Address.MapToIPv4(), ip.Port) : ip;
    }

    private async Task ReceiveLoopAsync(IGossipReceiver receiver, CancellationToken stopping)
    {
        var buffer = new byte[ReceiveBufferSize];
        EndPoint any = new IPEndPoint(_udp.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var result = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, any, stopping).ConfigureAwait(false);
                receiver.OnDatagram(Normalize(result.RemoteEndPoint), buffer.AsSpan(0, result.ReceivedBytes));
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                Log.ReceiveFailed(_logger, e.SocketErrorCode);
            }
        }
    }

    private async Task AcceptLoopAsync(IGossipReceiver receiver, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var client = await _tcp.AcceptAsync(stopping).ConfigureAwait(false);
                client.NoDelay = true;
                _ = receiver.OnStreamAsync(new NetworkStream(client, ownsSocket: true), Normalize(client.RemoteEndPoint!), stopping);
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                Log.ReceiveFailed(_logger, e.SocketErrorCode);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Debug, Message = "Gossip datagram to {To} not sent: {Error}")]
        public static partial void SendFailed(ILogger logger, IPEndPoint to, SocketError error);

        [LoggerMessage(Level = LogLevel.Debug, Message = "Gossip socket receive failed: {Error}")]
        public static partial void ReceiveFailed(ILogger logger, SocketError error);
    }
}
