using System.Net;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Cluster.Join;
using Nanobox.Node.Security;

namespace Nanobox.Node.Cluster;

/// <summary>
/// Decides joins for this member's join port. Only the leader signs: it opens the CA from the
/// replicated state, checks the request against the current join token, records the new member
/// through Raft and answers with everything the joiner needs. Any other member sends the joiner on
/// to the leader's join port.
/// </summary>
/// <param name="letIn">
/// Brings this node's firewall up to the committed state. Called before answering, so the joiner's first
/// connections to this node pass: a dropped SYN would cost it the kernel's 1 s retransmission.
/// </param>
public sealed class ClusterJoinAuthority(ClusterRuntime runtime, TimeSpan certificateLifetime, Func<CancellationToken, Task> letIn) : IJoinAuthority
{
    public byte[] CaCertificateDer => runtime.CaCertificate.RawData;

    public byte[]? CaProof =>
        ClusterSecrets.CurrentToken(runtime.StateKey, runtime.State) is { } token ? JoinProof.ProveCa(token.Secret, CaCertificateDer) : null;

    public async Task<JoinOutcome> AdmitAsync(JoinRequest request, byte[] serverCertificateDer, byte[] serverNonce, byte[]? clientCertificateDer, CancellationToken cancellationToken)
    {
        if (!runtime.IsLeader)
        {
            return runtime.LeaderId is { } leaderId && runtime.State.Members.TryGetValue(leaderId, out var leader)
                ? JoinError.NotLeader(new IPEndPoint(IPAddress.Parse(leader.Addresses[0]), ClusterPorts.Join).ToString())
                : JoinError.Unavailable();
        }

        var state = runtime.State;
        if (state.Ca is null || ClusterSecrets.CurrentToken(runtime.StateKey, state) is not { } token)
        {
            return JoinError.Unavailable();
        }

        using var ca = ClusterSecrets.OpenCa(runtime.StateKey, state.Ca);
        var (certificate, error) = new JoinAdmission(token, ca, certificateLifetime).Admit(request, serverCertificateDer, serverNonce, runtime.CurrentRevocations());
        if (error is not null)
        {
            return error;
        }

        var address = IPAddress.Parse(request.Addresses[0]);
        var raftEndpoint = new IPEndPoint(address, ClusterPorts.Control).ToString();
        ClusterCommand command;
        if (state.Members.ContainsKey(request.NodeId))
        {
            // A member back from a new address: the firewall keeps its peers out until the state records
            // that address, so it comes through here, the one port open to it. It must prove it is that member.
            if (!ProvesMember(clientCertificateDer, request.NodeId))
            {
                return JoinError.BadRequest($"node {request.NodeId} is already a member; only that node, with its own certificate, may record a new address for it");
            }

            command = new UpdateMemberCommand(request.NodeId, request.Name, [.. request.Addresses], raftEndpoint);
        }
        else
        {
            command = new AddMemberCommand(new ClusterMember(request.NodeId, request.Name, [.. request.Addresses], MemberRole.Member, DateTimeOffset.UtcNow, raftEndpoint));
        }

        try
        {
            state = await runtime.Consensus.ReplicateAsLeaderAsync(command, cancellationToken);
        }
        catch (ClusterCommandRejectedException ex)
        {
            return JoinError.BadRequest(ex.Message);
        }

        await letIn(cancellationToken);
        return new JoinResponse(
            certificate!,
            ca.Certificate.RawData,
            runtime.KeyRing.Serialize(),
            state.Members.Values
                .Where(m => m.NodeId != request.NodeId)
                .Select(m => new JoinedMember(m.NodeId, m.Name, m.Addresses[0]))
                .ToList(),
            runtime.ClusterId,
            runtime.StateKey);
    }

    private bool ProvesMember(byte[]? certificateDer, string nodeId)
    {
        if (certificateDer is null)
        {
            return false;
        }

        using var certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(certificateDer);
        return runtime.Validator.Validate(certificate, runtime.CurrentRevocations(), nodeId).IsAccepted;
    }
}
