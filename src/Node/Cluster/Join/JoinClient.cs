using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Nanobox.Node.Security;

namespace Nanobox.Node.Cluster.Join;

/// <summary>What a node gets by joining: its own credentials, and what the cluster handed over (gossip keys, members, ...).</summary>
/// <param name="Credentials">Owned by the caller; nothing is stored until the caller stores it, so a failed join leaves nothing behind.</param>
public sealed record JoinResult(NodeCredentials Credentials, JoinResponse Response);

/// <summary>
/// `nanobox cluster join`: connects to a member's join port, lets <see cref="JoinApplicant"/> pin the
/// CA and check the server before anything is sent, then proves the token and takes the certificate.
/// Every failure is a <see cref="JoinFailedException"/> that names the address and what to do.
/// </summary>
public sealed class JoinClient(TimeSpan? connectTimeout = null, TimeSpan? timeout = null)
{
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    private readonly TimeSpan _connectTimeout = connectTimeout ?? DefaultConnectTimeout;
    private readonly TimeSpan _timeout = timeout ?? DefaultTimeout;

    /// <param name="address">HOST, IP, HOST:PORT or [IPv6]:PORT of any member (see <see cref="JoinAddress"/>).</param>
    /// <param name="addresses">This node's addresses: they become its certificate's IP SANs.</param>
    /// <exception cref="FormatException"><paramref name="address"/> is not an address.</exception>
    /// <exception cref="JoinFailedException">The join did not happen; <see cref="JoinFailedException.Failure"/> says why.</exception>
    /// <param name="member">A member's own certificate, when a member moved to a new address asks to be recorded there.</param>
    public async Task<JoinResult> JoinAsync(string address, JoinToken token, string nodeId, string name, IReadOnlyList<IPAddress> addresses, CancellationToken cancellationToken, X509Certificate2? member = null)
    {
        var target = JoinAddress.Parse(address);
        try
        {
            return await Deadline.RunAsync(_timeout, "the join did not finish", async deadline =>
            {
                try
                {
                    return await JoinAtAsync(target, new JoinApplicant(token, nodeId, name, addresses), member, deadline).ConfigureAwait(false);
                }
                catch (JoinFailedException redirect) when (redirect.ErrorCode == JoinError.NotLeaderCode && redirect.Leader is { } leader)
                {
                    // Only the leader signs: ask it, once, with a fresh handshake (the proof is bound to the server it answers).
                    return await JoinAtAsync(JoinAddress.Parse(leader), new JoinApplicant(token, nodeId, name, addresses), member, deadline).ConfigureAwait(false);
                }
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException late)
        {
            throw new JoinFailedException(JoinFailure.TimedOut,
                $"Cannot join the cluster at {target}: {late.Message}. It may be electing a leader; try again in a minute.", late);
        }
        catch (JoinFailedException failure)
        {
            // Said once here: the steps below describe what went wrong, not where.
            throw new JoinFailedException(failure.Failure, $"Cannot join the cluster at {target}. {failure.Message}", failure, failure.ErrorCode);
        }
        catch (IOException broken)
        {
            // ProtocolException included: a reply that does not parse, a connection closed without one.
            throw new JoinFailedException(JoinFailure.Protocol,
                $"Cannot join the cluster at {target}: {broken.Message}. Check that {target} is a nanobox join port and that both nodes run the same nanobox version.", broken);
        }
    }

    private async Task<JoinResult> JoinAtAsync(JoinAddress target, JoinApplicant applicant, X509Certificate2? member, CancellationToken cancellationToken)
    {
        using var _ = applicant;
        using var tcp = new TcpClient { NoDelay = true };
        await ConnectAsync(tcp, target, cancellationToken).ConfigureAwait(false);

        // Any certificate passes TLS: the CA to check it against only arrives in the hello, and the
        // applicant checks it there, before the request (the proof) is sent.
        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, _, _, _) => true);
        await using (ssl.ConfigureAwait(false))
        {
            try
            {
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = "nanobox",
                    EnabledSslProtocols = SslProtocols.Tls13,
                    ClientCertificates = member is null ? null : [member],
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception failure) when (failure is AuthenticationException or IOException)
            {
                throw new JoinFailedException(JoinFailure.Protocol,
                    $"The TLS handshake failed ({failure.Message}): the node may be busy with other joins (try again), or this is not a nanobox join port.", failure);
            }

            using var serverCertificate = X509CertificateLoader.LoadCertificate(ssl.RemoteCertificate!.GetRawCertData());
            var hello = await JoinWire.ReadAsync(ssl, cancellationToken).ConfigureAwait(false) as JoinHello
                ?? throw new ProtocolException("the node did not start with a join hello");
            await JoinWire.WriteAsync(ssl, applicant.Answer(hello, serverCertificate), cancellationToken).ConfigureAwait(false);
            var reply = await JoinWire.ReadAsync(ssl, cancellationToken).ConfigureAwait(false);
            return new JoinResult(applicant.Complete(reply), (JoinResponse)reply);
        }
    }

    private async Task ConnectAsync(TcpClient tcp, JoinAddress target, CancellationToken cancellationToken)
    {
        try
        {
            await Deadline.RunAsync(_connectTimeout, "no answer", token => tcp.ConnectAsync(target.Host, target.Port, token).AsTask(), cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception failure) when (failure is SocketException or TimeoutException)
        {
            throw new JoinFailedException(JoinFailure.Unreachable,
                $"No connection ({failure.Message}): check the address, and that the node's join port {target.Port} is reachable from here (firewall).", failure);
        }
    }
}
