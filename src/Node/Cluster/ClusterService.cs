using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Admin;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Cluster.Join;
using Nanobox.Node.Cluster.Membership;
using Nanobox.Node.Firewall;
using Nanobox.Node.Host;
using Nanobox.Node.Overlay;
using Nanobox.Node.Runtime;
using Nanobox.Node.Runtime.Instances;
using Nanobox.Node.Runtime.Distribution;
using Nanobox.Node.Security;
using Nanobox.Node.Storage;

namespace Nanobox.Node.Cluster;

/// <summary>
/// The node's cluster life: standalone until `cluster init` or `cluster join`, then a member whose
/// runtime starts with the agent. Creating or joining is all-or-nothing: on failure the node is left
/// standalone, with nothing half-joined in its store or data dir.
/// </summary>
public sealed partial class ClusterService(NodeContext node, INodeStore store, FirewallManager firewall, OverlayManager overlay, InstanceBoard instances, PeerDataServer peerData, ILoggerFactory loggerFactory)
    : IHostedService, IFirewallCluster, IOverlayCluster, IAppsCluster, IPeerNetwork, IAsyncDisposable
{
    private static readonly TimeSpan LeadershipTimeout = TimeSpan.FromSeconds(15);

    /// <summary>How often a section change is made again after losing a revision race to a change from elsewhere.</summary>
    private const int SectionAttempts = 3;

    /// <summary>How long a refused section change waits for this node's state to catch up before the refusal stands.</summary>
    private static readonly TimeSpan ConflictCatchUp = TimeSpan.FromSeconds(1);

    private readonly ILogger _logger = loggerFactory.CreateLogger("Nanobox.Cluster");
    // Lock order: taken before the firewall's gate; held across runtime start and stop, so the runtime's events only ever wait on it asynchronously.
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ClusterRuntime? _runtime;
    private JoinServer? _joinServer;
    private readonly CancellationTokenSource _stopping = new();
    private Task _formation = Task.CompletedTask;
    private Task? _firewallLoop;
    private Task? _overlayLoop;
    private OverlayAnnouncement? _overlayAnnouncement;

    public ClusterRuntime? Runtime => _runtime;

    private ClusterEndpoints Endpoints => ClusterEndpoints.On(node.Advertise);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (LocalCluster.Load(store) is { } local)
        {
            // Protected before the first packet to or from a peer, with what protected it last time.
            firewall.RestoreLastGood();
            StartFirewall();
            await StartRuntimeAsync(local, [], cancellationToken);
            StartOverlay();
        }
        else if (node.Options.Formation is { } formation)
        {
            _formation = Task.Run(() => new ClusterFormation(node, this, formation, loggerFactory.CreateLogger<ClusterFormation>()).RunAsync(_stopping.Token));
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _formation;
        if (_firewallLoop is not null)
        {
            await _firewallLoop;
        }

        if (_overlayLoop is not null)
        {
            await _overlayLoop;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            await StopRuntimeAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>`nanobox cluster init`: a new cluster with this node as its first voter and leader.</summary>
    public Task<ClusterInitResponse> InitAsync(ClusterInitRequest request, CancellationToken cancellationToken) => InitAsync(request, formationToken: null, cancellationToken);

    /// <param name="formationToken">For a self-forming cluster: the join secret every node derives from `cluster.secret`.</param>
    internal async Task<ClusterInitResponse> InitAsync(ClusterInitRequest settings, JoinToken? formationToken, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            RefuseIfMember();
            RefuseLoopback("create a cluster");
            var overlayNetwork = OverlayFor(settings);
            var clusterId = NodeIdentity.NewId();
            using var ca = ClusterCertificateAuthority.Create(clusterId);
            var (key, request) = NodeCredentials.CreateKeyAndRequest(node.Identity.Id);
            using var certificate = ca.Issue(request, node.Identity.Id, [node.Advertise], node.Options.CertificateLifetime);
            using var credentials = NodeCredentials.FromIssued(certificate.RawData, key);
            var stateKey = RandomNumberGenerator.GetBytes(SecretBox.KeySize);
            var local = new LocalCluster(
                clusterId,
                ca.ExportCertificatePem(),
                credentials.ExportCertificatePem(),
                credentials.ExportPrivateKeyPem(),
                new GossipKeyRing([GossipKey.Generate()]).Serialize(),
                stateKey,
                Bootstrap: true,
                Incarnation: 0,
                DateTimeOffset.UtcNow);

            await BecomeMemberAsync(local, [], new Dictionary<string, IPAddress>(), async runtime =>
            {
                await WaitForLeadershipAsync(runtime, cancellationToken);
                var token = formationToken is null
                    ? JoinToken.Create(ca.Certificate.RawData)
                    : JoinToken.FromSecret(ca.Certificate.RawData, formationToken.Secret);
                var now = DateTimeOffset.UtcNow;
                await runtime.Consensus.ReplicateAsync(new BootstrapCommand(
                    clusterId,
                    new CertificateAuthority(ca.ExportCertificatePem(), ClusterSecrets.SealCaKey(stateKey, ca.ExportPrivateKeyPem()), "state-key-v1"),
                    new ClusterMember(node.Identity.Id, node.Options.Name, [node.Advertise.ToString()], MemberRole.Voter, now, Endpoints.Control.ToString()),
                    ClusterSecrets.Digest(token)), cancellationToken);
                await runtime.Consensus.ReplicateAsync(ClusterSecrets.PutJoinSecret(stateKey, token, expectedRevision: null), cancellationToken);
                await runtime.Consensus.ReplicateAsync(overlayNetwork.Put(expectedRevision: 0), cancellationToken);
            }, cancellationToken);

            LogCreated(_logger, clusterId);
            var current = ClusterSecrets.CurrentToken(stateKey, _runtime!.State)!;
            return new ClusterInitResponse(clusterId, current.Reveal(), JoinCommand(current));
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The overlay a new cluster starts with: the request's settings over the agent's [overlay] config.</summary>
    private OverlayNetwork OverlayFor(ClusterInitRequest request)
    {
        var defaults = node.Options.Overlay;
        try
        {
            return OverlayNetwork.Create(request.OverlaySubnet ?? defaults.Subnet, request.OverlayVni ?? defaults.Vni, request.OverlayPort ?? defaults.Port);
        }
        catch (ArgumentException ex)
        {
            throw new ClusterException(ClusterErrorKind.BadRequest, $"No cluster was created: {ex.Message}.", ex);
        }
    }

    /// <summary>`nanobox cluster join ADDR --token TOKEN`.</summary>
    public Task<ClusterJoinResponse> JoinAsync(string address, string tokenText, CancellationToken cancellationToken) =>
        JoinToken.TryParse(tokenText, out var token, out var tokenError)
            ? JoinAsync(address, token, new JoinClient(), beforeStart: null, cancellationToken)
            : throw new ClusterException(ClusterErrorKind.BadRequest, $"The join token is not valid: {tokenError}. Copy it again from `nanobox cluster token` on a member.");

    /// <param name="beforeStart">Runs once admitted, before this node's cluster listeners start (self-forming frees the join port).</param>
    internal async Task<ClusterJoinResponse> JoinAsync(string address, JoinToken token, JoinClient client, Func<Task>? beforeStart, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            RefuseIfMember();
            RefuseLoopback("join a cluster");
            JoinResult joined;
            try
            {
                joined = await client.JoinAsync(address, token, node.Identity.Id, node.Options.Name, [node.Advertise], cancellationToken);
            }
            catch (FormatException ex)
            {
                throw new ClusterException(ClusterErrorKind.BadRequest, $"'{address}' is not an address: {ex.Message} Give a member's address as HOST, IP or IP:PORT.", ex);
            }
            catch (JoinFailedException ex)
            {
                throw new ClusterException(ex.Failure is JoinFailure.Unreachable or JoinFailure.TimedOut ? ClusterErrorKind.Unreachable : ClusterErrorKind.Refused, ex.Message, ex);
            }

            using (joined.Credentials)
            {
                var response = joined.Response;
                var local = new LocalCluster(
                    response.ClusterId,
                    PemEncoding.WriteString("CERTIFICATE", response.CaCertificate),
                    joined.Credentials.ExportCertificatePem(),
                    joined.Credentials.ExportPrivateKeyPem(),
                    response.GossipKeys,
                    response.ClusterSecrets,
                    Bootstrap: false,
                    Incarnation: 0,
                    DateTimeOffset.UtcNow);
                var seeds = response.Members
                    .Where(m => m.Id != node.Identity.Id)
                    .Select(m => new IPEndPoint(IPAddress.Parse(m.Address), ClusterPorts.Gossip))
                    .ToList();
                if (beforeStart is not null)
                {
                    await beforeStart();
                }

                var peers = response.Members
                    .Where(m => IPAddress.TryParse(m.Address, out _))
                    .ToDictionary(m => m.Id, m => IPAddress.Parse(m.Address));
                await BecomeMemberAsync(local, seeds, peers, _ => Task.CompletedTask, cancellationToken);
                LogJoined(_logger, response.ClusterId, address);
                return new ClusterJoinResponse(response.ClusterId, response.Members.Count);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>`nanobox cluster token [--rotate]`.</summary>
    public async Task<ClusterTokenResponse> TokenAsync(bool rotate, CancellationToken cancellationToken)
    {
        var runtime = RequireMember();
        var current = ClusterSecrets.CurrentToken(runtime.StateKey, runtime.State)
            ?? throw new ClusterException(ClusterErrorKind.NoQuorum, "This node has not received the cluster's join token yet; try again in a moment or on another member.");
        if (rotate)
        {
            var next = JoinToken.Create(runtime.CaCertificate.RawData);
            var revision = runtime.State.Sections.TryGetValue(ClusterSecrets.JoinSection, out var section) ? section.Revision : (long?)null;
            await ReplicateAsync(runtime, ClusterSecrets.PutJoinSecret(runtime.StateKey, next, revision), cancellationToken);
            await ReplicateAsync(runtime, new RotateJoinSecretDigestCommand(ClusterSecrets.Digest(next)), cancellationToken);
            LogRotated(_logger);
            current = next;
        }

        return new ClusterTokenResponse(current.Reveal(), JoinCommand(current));
    }

    /// <summary>
    /// Time for every member to apply one step of a key rotation: voters apply Raft commits at once,
    /// non-voters poll every 500 ms. Members keep accepting every key in the ring meanwhile.
    /// </summary>
    private static readonly TimeSpan KeyStepDelay = TimeSpan.FromSeconds(2);

    /// <summary>
    /// `nanobox cluster rotate-key`: a new gossip key, without downtime: installed everywhere, then made
    /// primary, then the old keys dropped, each step given time to reach every member.
    /// </summary>
    public async Task<string> RotateGossipKeyAsync(CancellationToken cancellationToken)
    {
        var runtime = RequireMember();
        var fresh = GossipKey.Generate();
        var old = runtime.KeyRing.Keys.ToList();
        foreach (var ring in new[] { new GossipKeyRing([.. old, fresh]), new GossipKeyRing([fresh, .. old]), new GossipKeyRing([fresh]) })
        {
            var revision = runtime.State.Sections.TryGetValue(ClusterSecrets.GossipKeysSection, out var section) ? section.Revision : (long?)null;
            await ReplicateAsync(runtime, ClusterSecrets.PutGossipKeys(runtime.StateKey, ring, revision), cancellationToken);
            await Task.Delay(KeyStepDelay, cancellationToken);
        }

        LogKeyRotated(_logger, fresh.Id);
        return fresh.Id.ToString("x8");
    }

    /// <summary>How long `cluster remove` waits for the leader to carry the removal out.</summary>
    private static readonly TimeSpan RemovalTimeout = TimeSpan.FromSeconds(15);

    /// <summary>`nanobox cluster remove NODE`: revokes a member (by id or name); the leader carries it out.</summary>
    public async Task<MemberResponse> RemoveAsync(string nodeRef, CancellationToken cancellationToken)
    {
        var runtime = RequireMember();
        var matches = runtime.State.Members.Values.Where(m => m.NodeId == nodeRef || m.Name == nodeRef).ToList();
        var member = matches.Count switch
        {
            0 => throw new ClusterException(ClusterErrorKind.BadRequest, $"No member is called '{nodeRef}'. `nanobox members` lists their names and ids."),
            1 => matches[0],
            _ => throw new ClusterException(ClusterErrorKind.BadRequest, $"Several members are called '{nodeRef}' ({string.Join(", ", matches.Select(m => m.NodeId))}); give the id."),
        };
        if (member.NodeId == node.Identity.Id)
        {
            throw new ClusterException(ClusterErrorKind.Conflict, "A node cannot remove itself: run `nanobox cluster remove` on another member.");
        }

        await ReplicateAsync(runtime, MemberRemovals.With(runtime.State, member.NodeId), cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RemovalTimeout);
        try
        {
            while (!runtime.State.Revocations.ContainsKey(member.NodeId))
            {
                await Task.Delay(100, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ClusterException(ClusterErrorKind.NoQuorum, $"The removal of {member.Name} is recorded but the leader has not carried it out within {RemovalTimeout.TotalSeconds:0} s; it will when it can. Check `nanobox members`.");
        }

        LogRemovalRequested(_logger, member.Name, member.NodeId);
        // The removed node still holds the gossip key: replace it, so its datagrams are dropped too.
        await RotateGossipKeyAsync(cancellationToken);
        return new MemberResponse(member.NodeId, member.Name, member.Addresses.FirstOrDefault() ?? "", "removed", member.Role == MemberRole.Voter ? "voter" : "member", false, "");
    }

    /// <summary>`nanobox members`: every member in the replicated state, with what gossip says of it.</summary>
    public IReadOnlyList<MemberResponse> Members()
    {
        var runtime = RequireMember();
        var state = runtime.State;
        var leader = runtime.LeaderId;
        return state.Members.Values
            .Select(member =>
            {
                var gossip = runtime.Gossip?.Find(member.NodeId);
                var self = member.NodeId == node.Identity.Id;
                return new MemberResponse(
                    member.NodeId,
                    member.Name,
                    member.Addresses.FirstOrDefault() ?? "",
                    self ? "alive" : StateName(gossip?.State),
                    member.Role == MemberRole.Voter ? "voter" : "member",
                    member.NodeId == leader,
                    self ? BuildInfo.Version : gossip?.Meta.Version ?? "");
            })
            .OrderBy(m => m.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>The `cluster` part of `nanobox status`; null while standalone.</summary>
    public ClusterStatus? Status()
    {
        if (_runtime is not { } runtime)
        {
            return null;
        }

        var state = runtime.State;
        var leader = runtime.LeaderId;
        var aliveVoters = state.Voters.Count(v => v.NodeId == node.Identity.Id || runtime.Gossip?.Find(v.NodeId)?.State == MemberState.Alive);
        return new ClusterStatus(
            runtime.ClusterId,
            runtime.CertificateExpiresAt,
            runtime.KeyRing.Primary.Id.ToString("x8"),
            leader is null ? null : state.Members.TryGetValue(leader, out var l) ? l.Name : leader,
            state.Members.Count,
            state.Voters.Count(),
            leader is not null && aliveVoters > state.Voters.Count() / 2,
            runtime.Gossip?.Counters is { } counters
                ? new GossipStatus(counters.DatagramsReceived, counters.DatagramsSent, counters.TotalDropped, counters.DropsByReason())
                : new GossipStatus(0, 0, 0, new Dictionary<string, long>()),
            state.Version);
    }

    private static string StateName(MemberState? state) => state switch
    {
        MemberState.Alive => "alive",
        MemberState.Suspect => "suspect",
        MemberState.Left => "left",
        _ => "dead",
    };

    private static async Task<ClusterState> ReplicateAsync(ClusterRuntime runtime, ClusterCommand command, CancellationToken cancellationToken)
    {
        try
        {
            return await runtime.Consensus.ReplicateAsync(command, cancellationToken);
        }
        catch (NoQuorumException ex)
        {
            throw new ClusterException(ClusterErrorKind.NoQuorum, ex.Message, ex);
        }
        catch (ClusterCommandRejectedException ex)
        {
            throw new ClusterException(ClusterErrorKind.Conflict, ex.Message, ex);
        }
        catch (WriteOutcomeUnknownException ex)
        {
            throw new ClusterException(ClusterErrorKind.NoQuorum,
                $"The change could not be confirmed by a majority of voters and may or may not apply ({ex.Message}). Check `nanobox members` and try again.", ex);
        }
    }

    private string JoinCommand(JoinToken token) =>
        $"nanobox cluster join {FormatAddress(node.Advertise)}:{ClusterPorts.Join} --token {token.Reveal()}";

    private static string FormatAddress(IPAddress address) =>
        address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    private ClusterRuntime RequireMember() =>
        _runtime ?? throw new ClusterException(ClusterErrorKind.Conflict, "This node is not in a cluster. Create one with `nanobox cluster init` or join one with `nanobox cluster join ADDR --token TOKEN`.");

    private void RefuseIfMember()
    {
        if (_runtime is not null || LocalCluster.Load(store) is not null)
        {
            throw new ClusterException(ClusterErrorKind.Conflict,
                $"This node is already in cluster {_runtime?.ClusterId ?? LocalCluster.Load(store)?.ClusterId}. A node belongs to one cluster; to move it, remove it from that cluster and reset its data dir.");
        }
    }

    private void RefuseLoopback(string what)
    {
        if (IPAddress.IsLoopback(node.Advertise))
        {
            throw new ClusterException(ClusterErrorKind.BadRequest,
                $"This node advertises {node.Advertise}, which peers cannot reach; it cannot {what}. Restart the agent with --advertise set to this host's address.");
        }
    }

    private static async Task WaitForLeadershipAsync(ClusterRuntime runtime, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(LeadershipTimeout);
        while (!runtime.IsLeader)
        {
            await Task.Delay(50, timeout.Token);
        }
    }

    /// <summary>
    /// Locks the host down, saves the membership, starts the runtime and runs <paramref name="firstSteps"/>;
    /// on any failure undoes all of it, firewall included.
    /// </summary>
    /// <param name="peers">The members known so far, let through the firewall before any listener starts.</param>
    private async Task BecomeMemberAsync(LocalCluster local, IReadOnlyList<IPEndPoint> seeds, IReadOnlyDictionary<string, IPAddress> peers, Func<ClusterRuntime, Task> firstSteps, CancellationToken cancellationToken)
    {
        try
        {
            await firewall.LockDownAsync(peers, cancellationToken);
        }
        catch (FirewallException ex)
        {
            firewall.Release();
            throw new ClusterException(ClusterErrorKind.Refused, $"This node cannot protect itself, so it stays standalone: {ex.Message}", ex);
        }

        local.Save(store);
        try
        {
            await StartRuntimeAsync(local, seeds, cancellationToken);
            await firstSteps(_runtime!);
            StartFirewall();
            StartOverlay();
        }
        catch (Exception ex)
        {
            LogRolledBack(_logger, ex.Message);
            await StopRuntimeAsync(CancellationToken.None);
            firewall.Release();
            LocalCluster.Delete(store);
            var raft = Path.Combine(node.Options.DataDir, "raft");
            if (Directory.Exists(raft))
            {
                Directory.Delete(raft, recursive: true);
            }

            throw ex as ClusterException ?? new ClusterException(ClusterErrorKind.NoQuorum, $"The cluster could not be set up; this node is standalone again. {ex.Message}", ex);
        }
    }

    /// <summary>Reconciles the firewall now rather than at its next tick; a failure is left to the loop, which retries and reports it.</summary>
    private async Task LetInJoinerAsync(CancellationToken cancellationToken)
    {
        try
        {
            await firewall.ReconcileAsync(this, cancellationToken);
        }
        catch (FirewallException)
        {
            // The joiner then waits for the next tick's retry, which logs the failure once.
        }
    }

    private void StartFirewall() => _firewallLoop ??= Task.Run(() => firewall.RunAsync(this, _stopping.Token));

    /// <summary>The overlay follows the firewall: it starts once the host is locked down and only ever forwards for admitted peers.</summary>
    private void StartOverlay() => _overlayLoop ??= Task.Run(() => overlay.RunAsync(this, _stopping.Token));

    /// <inheritdoc />
    OverlayClusterView? IOverlayCluster.View() =>
        _runtime is { } runtime ? new OverlayClusterView(node.Identity.Id, runtime.State, runtime.Gossip?.Members() ?? [], runtime.IsLeader) : null;

    /// <inheritdoc />
    public void Announce(OverlayAnnouncement announcement)
    {
        _overlayAnnouncement = announcement;
        _runtime?.Announce(announcement);
    }

    /// <inheritdoc />
    AppsClusterView? IAppsCluster.View() =>
        _runtime is { } runtime ? new AppsClusterView(node.Identity.Id, runtime.State, runtime.Gossip?.Members() ?? [], runtime.IsLeader) : null;

    /// <inheritdoc />
    public async Task<System.Text.Json.JsonElement> ListInstancesAsync(string nodeId, CancellationToken cancellationToken)
    {
        var runtime = _runtime ?? throw new IOException("this node's cluster runtime is restarting");
        if (!runtime.State.Members.TryGetValue(nodeId, out var member) || !IPAddress.TryParse(member.Addresses.FirstOrDefault(), out var address))
        {
            throw new IOException($"{nodeId} is not a member with a known address");
        }

        try
        {
            return await runtime.ListInstancesAsync(nodeId, address, cancellationToken);
        }
        catch (LeaderUnavailableException ex)
        {
            throw new IOException(ex.Message, ex);
        }
    }

    /// <inheritdoc />
    PeerNetworkView? IPeerNetwork.Peers() =>
        _runtime is { } runtime ? new PeerNetworkView(node.Identity.Id, [.. runtime.State.Members.Values], runtime.StreamSecurity, runtime.Endpoints.Requests.Port) : null;

    /// <inheritdoc />
    public FirewallClusterView? View() =>
        _runtime is { } runtime ? new FirewallClusterView(node.Identity.Id, runtime.State, runtime.Gossip?.Members() ?? [], runtime.Endpoints.Requests.Port) : null;

    /// <inheritdoc />
    public Task<IReadOnlyList<PortReach>> ProbeBackAsync(string nodeId, IPAddress address, IReadOnlyList<int> ports, CancellationToken cancellationToken) =>
        _runtime is { } runtime
            ? runtime.ProbeBackAsync(nodeId, address, ports, cancellationToken)
            : throw new IOException("the cluster runtime is restarting");

    /// <summary>How long a write may take to reach this node's own copy of the state (a non-voter long-polls a voter for it).</summary>
    private static readonly TimeSpan LocalApplyTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Replaces a section of the replicated state, compare-and-set on its revision (so concurrent
    /// operators cannot overwrite each other: <paramref name="change"/> is computed from the state it replaces,
    /// and again from a newer one when this node's copy was behind), and waits until this node's copy has it.
    /// </summary>
    public async Task UpdateSectionAsync(Func<ClusterState, PutSectionCommand> change, CancellationToken cancellationToken)
    {
        var runtime = RequireMember();
        var after = await ChangeSectionAsync(() => runtime.State, (command, ct) => ReplicateAsync(runtime, command, ct), change, cancellationToken);
        // Committed; callers read this node's state next, so give it a moment to catch up (it will anyway).
        var latest = _runtime ?? runtime;
        await NewerStateAsync(() => latest.State, after.Version - 1, LocalApplyTimeout, cancellationToken);
    }

    /// <summary>
    /// The compare-and-set of <see cref="UpdateSectionAsync"/> on this node's copy of the state (<paramref name="state"/>),
    /// apart from the runtime so it can be tested alone; returns the state the change committed in.
    /// </summary>
    internal static async Task<ClusterState> ChangeSectionAsync(
        Func<ClusterState> state,
        Func<ClusterCommand, CancellationToken, Task<ClusterState>> replicate,
        Func<ClusterState, PutSectionCommand> change,
        CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var seen = state();
            try
            {
                return await replicate(change(seen), cancellationToken);
            }
            catch (ClusterException ex) when (ex.Kind == ClusterErrorKind.Conflict && attempt < SectionAttempts)
            {
                // Refused against this node's copy of the section: if that copy was behind the leader's (a change
                // committed elsewhere had not reached it yet), the change is made again on the newer state.
                if (!await NewerStateAsync(state, seen.Version, ConflictCatchUp, cancellationToken))
                {
                    throw;
                }
            }
        }
    }

    /// <summary>Waits up to <paramref name="limit"/> for this node's state to move past <paramref name="version"/>; whether it did.</summary>
    private static async Task<bool> NewerStateAsync(Func<ClusterState> state, long version, TimeSpan limit, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + limit;
        while (state().Version <= version)
        {
            if (DateTimeOffset.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(50, cancellationToken);
        }

        return true;
    }

    private async Task StartRuntimeAsync(LocalCluster local, IReadOnlyList<IPEndPoint> seeds, CancellationToken cancellationToken)
    {
        var runtime = new ClusterRuntime(node, store, local, Endpoints, new VoterPlannerOptions { VoterReplaceAfter = node.Options.VoterReplaceAfter }, loggerFactory);
        runtime.Renewed += renewed => _ = RestartAsync(renewed);
        runtime.StateChanged += firewall.Wake;
        runtime.Announce(_overlayAnnouncement);
        runtime.Consensus.InstanceReport = instances.RowsJson;
        runtime.Consensus.PeerData = peerData;
        _runtime = runtime;
        await runtime.StartAsync(seeds, cancellationToken);
        _joinServer = new JoinServer(Endpoints.Join, runtime.Credentials, new ClusterJoinAuthority(runtime, node.Options.CertificateLifetime, LetInJoinerAsync), loggerFactory.CreateLogger<JoinServer>());
        _joinServer.Start();
    }

    /// <summary>After a certificate renewal: every listener and client picks up the new certificate.</summary>
    private async Task RestartAsync(LocalCluster renewed)
    {
        await _gate.WaitAsync();
        try
        {
            // A renewal that lands while the agent stops (StopAsync cancels before it takes the gate) must not
            // start a runtime after the stop.
            if (_stopping.IsCancellationRequested)
            {
                return;
            }

            await StopRuntimeAsync(CancellationToken.None);
            await StartRuntimeAsync(renewed, [], CancellationToken.None);
        }
        catch (Exception ex)
        {
            LogRestartFailed(_logger, ex.Message);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task StopRuntimeAsync(CancellationToken cancellationToken)
    {
        if (_joinServer is not null)
        {
            await _joinServer.DisposeAsync();
            _joinServer = null;
        }

        if (_runtime is not null)
        {
            await _runtime.DisposeAsync();
            _runtime = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopRuntimeAsync(CancellationToken.None);
        _gate.Dispose();
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created cluster {ClusterId}; this node is its first voter")]
    private static partial void LogCreated(ILogger logger, string clusterId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Joined cluster {ClusterId} through {Address}")]
    private static partial void LogJoined(ILogger logger, string clusterId, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Join token rotated; the old token no longer admits nodes")]
    private static partial void LogRotated(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gossip key rotated; new primary {KeyId:x8}")]
    private static partial void LogKeyRotated(ILogger logger, uint keyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Member {Name} ({NodeId}) removed and revoked")]
    private static partial void LogRemovalRequested(ILogger logger, string name, string nodeId);

    [LoggerMessage(Level = LogLevel.Error, Message = "The cluster runtime did not restart after a certificate renewal: {Reason}; restart the agent")]
    private static partial void LogRestartFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster setup failed and was undone: {Reason}")]
    private static partial void LogRolledBack(ILogger logger, string reason);
}
