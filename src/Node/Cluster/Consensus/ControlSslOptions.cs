using System.Net;
using System.Net.Security;
using Microsoft.Extensions.Logging;
using DotNextSslOptions = DotNext.Net.Security.SslOptions;

namespace Nanobox.Node.Cluster.Consensus;

/// <summary>
/// Adapts Security's <see cref="IControlTlsOptions"/> to DotNext's TCP transport, logging every peer
/// certificate the validation refuses (DotNext itself fails such connections silently).
/// </summary>
internal sealed class ControlSslOptions : DotNextSslOptions
{
    private readonly IControlTlsOptions _tls;
    private readonly ILogger _logger;

    public ControlSslOptions(IControlTlsOptions tls, ILogger logger)
    {
        _tls = tls;
        _logger = logger;

        // DotNext exposes its server options as a fixed object: copy what Security set into it.
        var source = tls.CreateServerOptions();
        var target = ServerOptions;
        target.ServerCertificate = source.ServerCertificate;
        target.ServerCertificateContext = source.ServerCertificateContext;
        target.ServerCertificateSelectionCallback = source.ServerCertificateSelectionCallback;
        target.ClientCertificateRequired = source.ClientCertificateRequired;
        target.EnabledSslProtocols = source.EnabledSslProtocols;
        target.CertificateRevocationCheckMode = source.CertificateRevocationCheckMode;
        target.CertificateChainPolicy = source.CertificateChainPolicy;
        target.ApplicationProtocols = source.ApplicationProtocols;
        target.CipherSuitesPolicy = source.CipherSuitesPolicy;
        target.AllowRenegotiation = source.AllowRenegotiation;
        target.AllowTlsResume = source.AllowTlsResume;
        target.RemoteCertificateValidationCallback = LogRefusals(source.RemoteCertificateValidationCallback, "client", logger);
    }

    public override SslClientAuthenticationOptions CreateClientOptions(EndPoint server)
    {
        var options = _tls.CreateClientOptions(server);
        options.RemoteCertificateValidationCallback = LogRefusals(options.RemoteCertificateValidationCallback, "server", _logger);
        return options;
    }

    /// <summary>Wraps a validation callback (or the default: no policy errors) so refusals are logged.</summary>
    internal static RemoteCertificateValidationCallback LogRefusals(RemoteCertificateValidationCallback? validate, string peerRole, ILogger logger) =>
        (sender, certificate, chain, errors) =>
        {
            var accepted = validate?.Invoke(sender, certificate, chain, errors) ?? errors == SslPolicyErrors.None;
            if (!accepted)
                ConsensusLog.PeerCertificateRefused(logger, peerRole, certificate?.Subject ?? "(no certificate)", errors);
            return accepted;
        };
}
