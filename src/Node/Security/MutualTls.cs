using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Nanobox.Node.Security;

/// <summary>The peer's certificate was refused, or the peer refused ours. Says why, never anything secret.</summary>
public sealed class PeerRefusedException(string message, PeerRefusal? refusal = null, Exception? inner = null) : IOException(message, inner)
{
    /// <summary>Why this node refused the peer; null when the peer refused this node or the handshake failed.</summary>
    public PeerRefusal? Refusal { get; } = refusal;
}

/// <summary>
/// Node-to-node control streams over TLS 1.3 with certificates from the cluster CA on both sides.
/// The revocation list is read at every handshake, so a node removed from the cluster is refused by
/// the next connection it attempts. That list is the only revocation there is: the options keep
/// their default of no CRL or OCSP lookups, which a cluster CA does not publish.
/// </summary>
public sealed partial class MutualTls : IStreamSecurity
{
    public static readonly TimeSpan DefaultHandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Sent by the server once it has accepted the client's certificate. Under TLS 1.3 the client
    /// finishes its handshake before the server has checked the client certificate, so without this
    /// byte a refused client would learn of it only on its first read, as an unexplained error.
    /// </summary>
    private const byte Admitted = 0x4E;

    private readonly PeerCertificateValidator _validator;
    private readonly Func<RevocationList> _revocations;
    private readonly ILogger _logger;
    private readonly TimeSpan _handshakeTimeout;
    private readonly SslStreamCertificateContext _certificateContext;

    public MutualTls(NodeCredentials credentials, PeerCertificateValidator validator, Func<RevocationList> revocations, ILogger logger, TimeSpan? handshakeTimeout = null)
    {
        _validator = validator;
        _revocations = revocations;
        _logger = logger;
        _handshakeTimeout = handshakeTimeout ?? DefaultHandshakeTimeout;
        // offline: the peers know the CA; nothing may be fetched from the network to build our chain.
        _certificateContext = SslStreamCertificateContext.Create(credentials.Certificate, additionalCertificates: null, offline: true);
    }

    public Task<(Stream Stream, string PeerNodeId)> ConnectAsync(Stream transport, string? expectedNodeId, CancellationToken cancellationToken) =>
        HandshakeAsync(transport, isServer: false, expectedNodeId, cancellationToken);

    public Task<(Stream Stream, string PeerNodeId)> AcceptAsync(Stream transport, CancellationToken cancellationToken) =>
        HandshakeAsync(transport, isServer: true, expectedNodeId: null, cancellationToken);

    private async Task<(Stream Stream, string PeerNodeId)> HandshakeAsync(Stream transport, bool isServer, string? expectedNodeId, CancellationToken cancellationToken)
    {
        PeerValidation? validation = null;
        var revocations = _revocations();
        bool Check(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            // The platform's verdict (errors) is against the system trust store and host names: not ours to use.
            validation = _validator.Validate(certificate as X509Certificate2, revocations, expectedNodeId);
            return validation.IsAccepted;
        }

        var ssl = new SslStream(transport, leaveInnerStreamOpen: false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_handshakeTimeout);
        try
        {
            if (isServer)
            {
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = _certificateContext,
                    ClientCertificateRequired = true,
                    EnabledSslProtocols = SslProtocols.Tls13,
                    RemoteCertificateValidationCallback = Check,
                }, timeout.Token);
                await ssl.WriteAsync(new[] { Admitted }, timeout.Token);
                await ssl.FlushAsync(timeout.Token);
            }
            else
            {
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    // Not checked (the validator checks the node id); sent as SNI, which is public anyway.
                    TargetHost = expectedNodeId ?? "nanobox",
                    ClientCertificateContext = _certificateContext,
                    EnabledSslProtocols = SslProtocols.Tls13,
                    RemoteCertificateValidationCallback = Check,
                }, timeout.Token);
                var reply = new byte[1];
                if (await ssl.ReadAsync(reply, timeout.Token) != 1 || reply[0] != Admitted)
                {
                    throw new PeerRefusedException("the peer closed the connection: it refused this node's certificate");
                }
            }

            return (ssl, validation!.NodeId!);
        }
        catch (Exception error)
        {
            await ssl.DisposeAsync();
            throw Explain(error, validation, cancellationToken);
        }
    }

    private Exception Explain(Exception error, PeerValidation? validation, CancellationToken cancellationToken)
    {
        if (validation is { IsAccepted: false })
        {
            LogRefused(_logger, validation.NodeId ?? "(unknown)", validation.Refusal!.Value, validation.Detail);
            return new PeerRefusedException($"peer refused: {validation.Detail}", validation.Refusal, error);
        }

        if (error is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LogFailed(_logger, "timed out");
            return new TimeoutException($"TLS handshake did not finish within {_handshakeTimeout.TotalSeconds:0.#} s", error);
        }

        if (error is OperationCanceledException)
        {
            return error;
        }

        // Our side accepted the peer (or never saw its certificate): the peer refused us, or the link broke.
        var reason = error is PeerRefusedException ? error.Message : $"handshake failed: {error.Message}";
        LogFailed(_logger, reason);
        return error as PeerRefusedException ?? new PeerRefusedException(reason, inner: error);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused peer {NodeId}: {Refusal}: {Detail}")]
    private static partial void LogRefused(ILogger logger, string nodeId, PeerRefusal refusal, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mutual TLS with a peer failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
