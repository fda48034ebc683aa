using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Security;

namespace Nanobox.Node.Cluster.Join;

/// <summary>
/// The join port: TLS with this node's certificate (server authentication only: a joiner has no
/// certificate yet, it pins the CA from its token instead), then one <see cref="JoinSession"/> per
/// connection. Strangers reach this port, so every connection is bounded in time and number, and
/// nothing a client sends can stop the server.
/// </summary>
public sealed class JoinServer : IAsyncDisposable
{
    private readonly IPEndPoint _endPoint;
    private readonly JoinServerOptions _options;
    private readonly ILogger _logger;
    private readonly JoinSession _session;
    private readonly SslServerAuthenticationOptions _tls;
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _stopping = new();
    private TcpListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;

    /// <param name="endPoint">Where to listen; null for every address (IPv4 and IPv6) on <see cref="ClusterPorts.Join"/>.</param>
    public JoinServer(IPEndPoint? endPoint, NodeCredentials credentials, IJoinAuthority authority, ILogger logger, JoinServerOptions? options = null)
    {
        _endPoint = endPoint ?? new IPEndPoint(IPAddress.IPv6Any, ClusterPorts.Join);
        _options = options ?? new JoinServerOptions();
        _logger = logger;
        _session = new JoinSession(authority, credentials.Certificate.RawData, _options, logger);
        _slots = new SemaphoreSlim(_options.MaxConnections, _options.MaxConnections);
        _tls = new SslServerAuthenticationOptions
        {
            // offline: a joiner gets the CA in the hello; nothing may be fetched to build our chain.
            ServerCertificateContext = SslStreamCertificateContext.Create(credentials.Certificate, additionalCertificates: null, offline: true),
            // Asked for, never required: strangers joining have none, and a member that moved to a new
            // address presents its node certificate (checked by the authority, not by TLS).
            ClientCertificateRequired = true,
            RemoteCertificateValidationCallback = static (_, _, _, _) => true,
            EnabledSslProtocols = SslProtocols.Tls13,
        };
    }

    /// <summary>Where the server listens (the actual port when it was given as 0).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)(_listener ?? throw new InvalidOperationException("The join server is not started.")).LocalEndpoint;

    /// <exception cref="SocketException">The address is not this node's, or the port is taken.</exception>
    public void Start()
    {
        _listener = new TcpListener(_endPoint);
        if (_endPoint.Address.Equals(IPAddress.IPv6Any))
        {
            _listener.Server.DualMode = true;
        }

        _listener.Start();
        JoinLog.Listening(_logger, LocalEndPoint.ToString());
        _acceptLoop = AcceptLoopAsync(_listener, _stopping.Token);
    }

    /// <summary>Stops accepting, cancels the conversations in flight and waits for them to end.</summary>
    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Stop();
        await _acceptLoop.ConfigureAwait(false);
        // Every conversation holds a slot until it has ended: holding them all means none is left.
        for (var i = 0; i < _options.MaxConnections; i++)
        {
            await _slots.WaitAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _slots.Dispose();
    }

    private async Task AcceptLoopAsync(TcpListener listener, CancellationToken stopping)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception stopped) when (stopped is OperationCanceledException or ObjectDisposedException or SocketException && stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException failure)
            {
                // A connection reset before it was accepted: the listener itself is fine.
                JoinLog.Dropped(_logger, "?", failure.Message);
                continue;
            }

            var remote = socket.RemoteEndPoint?.ToString() ?? "?";
            if (!_slots.Wait(0))
            {
                // Refused at once, before any TLS work, so a flood costs this node next to nothing.
                JoinLog.Dropped(_logger, remote, $"already serving {_options.MaxConnections} join connections");
                socket.Dispose();
                continue;
            }

            _ = ServeAsync(socket, remote, stopping);
        }
    }

    private async Task ServeAsync(Socket socket, string remote, CancellationToken stopping)
    {
        try
        {
            var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
            await using (ssl.ConfigureAwait(false))
            {
                await Deadline.RunAsync(_options.HandshakeTimeout, "no TLS handshake", token => ssl.AuthenticateAsServerAsync(_tls, token), stopping)
                    .ConfigureAwait(false);
                await _session.RunAsync(ssl, remote, ssl.RemoteCertificate?.GetRawCertData(), stopping).ConfigureAwait(false);
            }
        }
        catch (Exception) when (stopping.IsCancellationRequested)
        {
            // Shutting down: the joiner sees the connection close and can retry another member.
        }
        catch (Exception failure) when (failure is IOException or AuthenticationException or TimeoutException or SocketException)
        {
            JoinLog.Dropped(_logger, remote, failure.Message);
        }
        catch (Exception failure)
        {
            // A bug, not the client's doing; still only this connection ends.
            JoinLog.ConnectionFailed(_logger, remote, failure);
        }
        finally
        {
            _slots.Release();
        }
    }
}
