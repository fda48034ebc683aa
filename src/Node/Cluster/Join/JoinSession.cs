using Microsoft.Extensions.Logging;
using Nanobox.Node.Security;

namespace Nanobox.Node.Cluster.Join;

/// <summary>
/// One join conversation on a stream the server has already secured with TLS: the hello with a
/// fresh nonce, one request within its deadline, the authority's answer, done. Anything the peer
/// sends out of turn or malformed ends the conversation with an exception, never with an answer.
/// </summary>
internal sealed class JoinSession(IJoinAuthority authority, byte[] serverCertificateDer, JoinServerOptions options, ILogger logger)
{
    /// <exception cref="ProtocolException">The peer sent something other than a well-formed join request.</exception>
    /// <exception cref="TimeoutException">The peer did not send its request, or take the reply, in time.</exception>
    /// <exception cref="IOException">The connection broke.</exception>
    public async Task RunAsync(Stream stream, string remote, byte[]? clientCertificateDer, CancellationToken stopping)
    {
        var nonce = JoinProof.NewNonce();
        var request = await Deadline.RunAsync(options.RequestTimeout, "no join request", async token =>
        {
            await JoinWire.WriteAsync(stream, new JoinHello(JoinHello.CurrentVersion, nonce, authority.CaCertificateDer, authority.CaProof), token).ConfigureAwait(false);
            return await JoinWire.ReadAsync(stream, token).ConfigureAwait(false) as JoinRequest
                ?? throw new ProtocolException("the peer sent another message than a join request");
        }, stopping).ConfigureAwait(false);

        var reply = await DecideAsync(request, nonce, remote, clientCertificateDer, stopping).ConfigureAwait(false);
        await Deadline.RunAsync(options.RequestTimeout, "the reply was not taken", token => JoinWire.WriteAsync(stream, reply, token).AsTask(), stopping)
            .ConfigureAwait(false);
    }

    private async Task<JoinMessage> DecideAsync(JoinRequest request, byte[] nonce, string remote, byte[]? clientCertificateDer, CancellationToken stopping)
    {
        try
        {
            var outcome = await Deadline.RunAsync(options.AdmitTimeout, "no decision",
                token => authority.AdmitAsync(request, serverCertificateDer, nonce, clientCertificateDer, token), stopping).ConfigureAwait(false);
            if (outcome.Reply is JoinError error)
            {
                JoinLog.Refused(logger, remote, error.Code);
            }
            else
            {
                JoinLog.Admitted(logger, request.NodeId, remote);
            }

            return outcome.Reply;
        }
        catch (Exception failure) when (!stopping.IsCancellationRequested)
        {
            // No leader reachable, a commit that timed out: the joiner can retry, so say so rather than hang up.
            JoinLog.AuthorityFailed(logger, remote, failure);
            return JoinError.Unavailable();
        }
    }
}
