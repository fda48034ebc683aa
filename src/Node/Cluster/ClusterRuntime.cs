using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Cluster.Consensus;
using Nanobox.Node.Cluster.Join;
using Nanobox.Node.Cluster.Membership;
using Nanobox.Node.Host;
using Nanobox.Node.Security;
using Nanobox.Node.Storage;

namespace Nanobox.Node.Cluster;

/// <summary>
/// A cluster member's moving parts, wired together and run for as long as the node belongs to its
/// cluster: mutual TLS from the node's credentials, Raft (voters) or a state follower (others),
/// encrypted gossip, and the leader's voter reconciler.
/// </summary>
public sealed partial class ClusterRuntime : IAsyncDisposable
{
    /// <summary>How often the leader reconsiders voters; also the pause after a failed state fetch.</summary>
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How long a voter holds a follower's state fetch open until it has something newer (a long poll): a
    /// commit reaches non-voters as soon as their voter applies it, at one request per commit or per wait.
    /// </summary>
    private static readonly TimeSpan FollowWait = TimeSpan.FromSeconds(5);

    /// <summary>The least time between fetches, so a peer that answers at once cannot make the loop spin.</summary>
    private static readonly TimeSpan FollowMinPeriod = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Every 2 s, members that gossip has given up on (dead, left, never seen) but the replicated state
    /// still lists are contacted again. SWIM never probes the dead, so without this two sides of a healed
    /// partition would each keep the other dead (Serf's "reconnect", at a LAN-friendly pace).
    /// </summary>
    private const int ReconnectEveryTicks = 4;

    private readonly NodeContext _node;
    private readonly INodeStore _store;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly ClusterEndpoints _endpoints;
    private readonly PeerCertificateValidator _validator;
    private readonly X509Certificate2 _caCertificate;
    private readonly ControlClient _control;
    private readonly CancellationTokenSource _stopping = new();
    private readonly VoterPlannerOptions _voterOptions;
    private LocalCluster _local;
    private ClusterState _followed = ClusterState.Empty;
    private (long Version, RevocationList List) _revocations = (-1, RevocationList.Empty);
    private UdpTcpGossipTransport? _transport;
    private Task? _loop;
    private Task? _followLoop;
    private DateTimeOffset _renewAt;
    private long _appliedKeysRevision = -1;
    private bool _addressMoved;

    public ClusterRuntime(NodeContext node, INodeStore store, LocalCluster local, ClusterEndpoints endpoints, VoterPlannerOptions voterOptions, ILoggerFactory loggerFactory)
    {
        _node = node;
        _store = store;
        _local = local;
        _endpoints = endpoints;
        _voterOptions = voterOptions;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Nanobox.Cluster");

        Credentials = NodeCredentials.FromPem(local.NodeCertificatePem, local.NodeKeyPem);
        _caCertificate = X509Certificate2.CreateFromPem(local.CaCertificatePem);
        _validator = new PeerCertificateValidator(_caCertificate, local.ClusterId);
        StreamSecurity = new MutualTls(Credentials, _validator, CurrentRevocations, loggerFactory.CreateLogger<MutualTls>());
        _control = new ControlClient(StreamSecurity);
        Consensus = new ConsensusNode(
            new ConsensusOptions
            {
                NodeId = node.Identity.Id,
                DataDir = node.Options.DataDir,
                ControlEndPoint = endpoints.Control,
                RequestsEndPoint = endpoints.Requests,
                Bootstrap = local.Bootstrap,
            },
            new ClusterTls(Credentials, _validator, CurrentRevocations),
            StreamSecurity,
            loggerFactory,
            _control);
        KeyRing = GossipKeyRing.Deserialize(local.GossipKeys);
        _followed = store.Get(FollowedCollection, FollowedKey, ConsensusJsonContext.Default.ClusterState) ?? ClusterState.Empty;
        Consensus.CertificateSigner = SignCertificateAsync;
        Consensus.StateChanged += _ => StateChanged?.Invoke();
        // Certificates start ClockSkewAllowance before they are issued: the renewal point counts from the issue time.
        var certificate = Credentials.Certificate;
        var issued = new DateTimeOffset(certificate.NotBefore) + ClusterCertificateAuthority.ClockSkewAllowance;
        _renewAt = CertificateRenewal.NextRenewal(issued < certificate.NotAfter ? issued : certificate.NotBefore, certificate.NotAfter, Random.Shared);
    }

    /// <summary>The node's certificate was renewed and saved; the owner restarts the runtime to use it everywhere.</summary>
    public event Action<LocalCluster>? Renewed;

    /// <summary>A newer state arrived, applied through Raft or pulled from a voter; read <see cref="State"/>. Keep handlers short.</summary>
    public event Action? StateChanged;

    public DateTimeOffset CertificateExpiresAt => Credentials.Certificate.NotAfter;

    // A non-voter's last followed state, kept so that after a restart it knows its peers before any voter answers.
    private const string FollowedCollection = "cluster";
    private const string FollowedKey = "followed";

    public string ClusterId => _local.ClusterId;

    public byte[] StateKey => _local.StateKey;

    public NodeCredentials Credentials { get; }

    public IStreamSecurity StreamSecurity { get; }

    public ConsensusNode Consensus { get; }

    public GossipKeyRing KeyRing { get; }

    public Memberlist? Gossip { get; private set; }

    public X509Certificate2 CaCertificate => _caCertificate;

    /// <summary>Checks a peer's certificate against the cluster CA (revocations are the caller's to pass).</summary>
    public PeerCertificateValidator Validator => _validator;

    /// <summary>The newest replicated state this node knows: its own Raft replica, or what it followed from a voter.</summary>
    public ClusterState State => Consensus.State.Version >= _followed.Version ? Consensus.State : _followed;

    public bool IsLeader => Consensus.IsLeader;

    /// <summary>
    /// The leader's node id, when one is known: from Raft on a voter, from gossip on a non-voter (which
    /// is outside the Raft configuration; the leader announces itself in its gossip role).
    /// </summary>
    public string? LeaderId =>
        Consensus.Leader is { } leader
            ? State.Members.Values.FirstOrDefault(m => SameEndpoint(m.RaftEndpoint, leader))?.NodeId
            : IsVoter(_node.Identity.Id)
                ? null
                : Gossip?.Members().FirstOrDefault(m => m.Meta.Role == LeaderRole && m.State == MemberState.Alive)?.Id;

    private const string LeaderRole = "leader";
    private const string VoterRole = "voter";

    public async Task StartAsync(IEnumerable<IPEndPoint> seeds, CancellationToken cancellationToken)
    {
        await Consensus.StartAsync(cancellationToken);

        _transport = UdpTcpGossipTransport.Bind(_endpoints.Gossip, _loggerFactory.CreateLogger<UdpTcpGossipTransport>());
        // A restart announces a higher incarnation, so an address that changed replaces the old one everywhere.
        var incarnation = _local.Incarnation + 1;
        _local = _local with { Incarnation = incarnation };
        _local.Save(_store);
        Gossip = new Memberlist(
            _node.Identity.Id,
            Meta(),
            incarnation,
            new MembershipOptions(),
            _transport,
            new GossipDatagramProtector(KeyRing),
            StreamSecurity,
            TimeProvider.System,
            Random.Shared,
            _loggerFactory.CreateLogger<Memberlist>());
        Gossip.Start();
        await JoinGossipAsync(seeds, cancellationToken);
        _addressMoved = State.Members.TryGetValue(_node.Identity.Id, out var recorded) && recorded.Addresses.FirstOrDefault() != _node.Advertise.ToString();
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        _followLoop = Task.Run(() => FollowLoopAsync(_stopping.Token), CancellationToken.None);
        LogStarted(_logger, ClusterId, _endpoints.Gossip, _endpoints.Control);
    }

    /// <summary>Seeds from the caller plus every member the replicated state knows.</summary>
    private async Task JoinGossipAsync(IEnumerable<IPEndPoint> seeds, CancellationToken cancellationToken)
    {
        var known = State.Members.Values
            .Where(m => m.NodeId != _node.Identity.Id)
            .SelectMany(m => m.Addresses.Take(1))
            .Select(a => new IPEndPoint(IPAddress.Parse(a), _endpoints.Gossip.Port));
        var all = seeds.Concat(known).Where(e => !e.Equals(_endpoints.Gossip)).Distinct().ToList();
        if (all.Count > 0)
        {
            var reached = await Gossip!.JoinAsync(all, cancellationToken);
            LogGossipJoined(_logger, reached, all.Count);
        }
    }

    private NodeMeta Meta() => new(
        _node.Options.Name,
        [_node.Advertise],
        _endpoints.Gossip.Port,
        _endpoints.Control.Port,
        IsLeader ? LeaderRole : IsVoter(_node.Identity.Id) ? VoterRole : "member",
        BuildInfo.Version,
        _node.GossipLabels,
        _overlay?.Vtep,
        _overlay?.Vni ?? 0,
        _overlay?.Endpoints);

    private Overlay.OverlayAnnouncement? _overlay;

    /// <summary>Gossips the overlay's endpoint and this node's endpoints (a new incarnation when they change).</summary>
    public void Announce(Overlay.OverlayAnnouncement? announcement)
    {
        if (Equals(announcement, _overlay))
        {
            return;
        }

        _overlay = announcement;
        Gossip?.UpdateMeta(Meta());
    }

    /// <summary>The mTLS revocation list, rebuilt when the state changes.</summary>
    public RevocationList CurrentRevocations()
    {
        var state = State;
        var cached = _revocations;
        if (cached.Version == state.Version)
        {
            return cached.List;
        }

        var list = RevocationList.Empty;
        foreach (var revocation in state.Revocations.Values)
        {
            list = list.WithNode(revocation.NodeId);
            foreach (var serial in revocation.CertificateSerials)
            {
                list = list.WithSerialNumber(serial);
            }
        }

        _revocations = (state.Version, list);
        return list;
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TickInterval);
        var ticks = 0;
        while (await WaitForTickAsync(timer, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                if (_addressMoved)
                {
                    await AnnounceNewAddressAsync(cancellationToken);
                }

                if (IsLeader)
                {
                    if (!await CarryOutRemovalAsync(cancellationToken) && !await AlignRaftConfigurationAsync(cancellationToken))
                    {
                        await ReconcileVotersAsync(cancellationToken);
                    }
                }

                if (DateTimeOffset.UtcNow >= _renewAt && await RenewCertificateAsync(cancellationToken))
                {
                    return; // the owner restarts the runtime with the new certificate
                }

                ApplyGossipKeys();
                RefreshRole();
                if (++ticks % ReconnectEveryTicks == 0)
                {
                    await ReconnectAsync(cancellationToken);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogTickFailed(_logger, ex.Message);
            }
        }
    }

    /// <summary>
    /// On the leader: signs a certificate for <paramref name="nodeId"/>, the identity its mutual-TLS
    /// certificate proved (or this node itself), with the addresses the replicated state records for it.
    /// </summary>
    private Task<byte[]> SignCertificateAsync(string nodeId, byte[] certificateRequest, CancellationToken cancellationToken)
    {
        var state = State;
        if (!state.Members.TryGetValue(nodeId, out var member) || state.Revocations.ContainsKey(nodeId) || state.Ca is null)
        {
            throw new ClusterCommandRejectedException($"node {nodeId} is not a member of this cluster");
        }

        using var ca = ClusterSecrets.OpenCa(StateKey, state.Ca);
        using var certificate = ca.Issue(certificateRequest, nodeId, member.Addresses.Select(IPAddress.Parse), _node.Options.CertificateLifetime);
        return Task.FromResult(certificate.RawData);
    }

    /// <summary>A new key and certificate, signed by the leader, saved; then <see cref="Renewed"/>. False while no leader is known.</summary>
    private async Task<bool> RenewCertificateAsync(CancellationToken cancellationToken)
    {
        var (key, request) = NodeCredentials.CreateKeyAndRequest(_node.Identity.Id);
        byte[] certificate;
        if (IsLeader)
        {
            certificate = await SignCertificateAsync(_node.Identity.Id, request, cancellationToken);
        }
        else if (LeaderId is { } leaderId && State.Members.TryGetValue(leaderId, out var leader))
        {
            certificate = await _control.SignCertificateAsync(
                new ControlPeer(leaderId, new IPEndPoint(IPAddress.Parse(leader.Addresses[0]), _endpoints.Requests.Port)), request, cancellationToken);
        }
        else
        {
            key.Dispose();
            return false;
        }

        using var renewed = NodeCredentials.FromIssued(certificate, key);
        _local = _local with { NodeCertificatePem = renewed.ExportCertificatePem(), NodeKeyPem = renewed.ExportPrivateKeyPem() };
        _local.Save(_store);
        _renewAt = DateTimeOffset.MaxValue;
        LogRenewed(_logger, renewed.Certificate.NotAfter);
        Renewed?.Invoke(_local);
        return true;
    }

    /// <summary>
    /// Brings the live key ring to what the replicated state asks for: new keys installed, the primary
    /// switched, dropped keys removed (a rotation takes three such steps, so members always share a key).
    /// </summary>
    private void ApplyGossipKeys()
    {
        if (ClusterSecrets.GossipKeys(StateKey, State) is not { } desired || desired.Revision == _appliedKeysRevision)
        {
            return;
        }

        foreach (var key in desired.Ring.Keys.Where(k => !KeyRing.Keys.Any(k.SameAs)))
        {
            KeyRing.Install(key);
        }

        KeyRing.Use(KeyRing.Keys.First(k => k.SameAs(desired.Ring.Primary)));
        foreach (var key in KeyRing.Keys.Where(k => !desired.Ring.Keys.Any(k.SameAs)).ToList())
        {
            KeyRing.Remove(key);
        }

        _appliedKeysRevision = desired.Revision;
        _local = _local with { GossipKeys = KeyRing.Serialize() };
        _local.Save(_store);
        LogKeysApplied(_logger, KeyRing.Keys.Count, KeyRing.Primary.Id);
    }

    private async Task ReconnectAsync(CancellationToken cancellationToken)
    {
        if (Gossip is not { } gossip)
        {
            return;
        }

        var lost = State.Members.Values
            .Where(m => m.NodeId != _node.Identity.Id && gossip.Find(m.NodeId) is not { State: MemberState.Alive or MemberState.Suspect })
            .Select(m => new IPEndPoint(IPAddress.Parse(m.Addresses[0]), _endpoints.Gossip.Port))
            .ToList();
        if (lost.Count > 0)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TickInterval * ReconnectEveryTicks);
            try
            {
                await gossip.JoinAsync(lost, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Still unreachable; next round.
            }
        }
    }

    private static async Task<bool> WaitForTickAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private bool IsVoter(string nodeId) => State.Members.TryGetValue(nodeId, out var member) && member.Role == MemberRole.Voter;

    private void RefreshRole()
    {
        var meta = Meta();
        if (Gossip is { } gossip && gossip.Find(_node.Identity.Id)?.Meta.Role != meta.Role)
        {
            gossip.UpdateMeta(meta);
        }
    }

    /// <summary>The leader applies the voter planner's next change: first the Raft configuration, then the recorded roles.</summary>
    private async Task ReconcileVotersAsync(CancellationToken cancellationToken)
    {
        var state = State;
        var now = DateTimeOffset.UtcNow;
        var health = state.Members.Values.Select(m => Health(m, now)).ToList();
        var voters = state.Voters.Select(v => v.NodeId).ToHashSet();
        switch (VoterPlanner.Plan(health, voters, now, _voterOptions))
        {
            case VoterChange.AddVoter add:
                LogVoterChange(_logger, "adding", add.NodeId);
                if (await Consensus.AddVoterAsync(RaftEndpoint(state.Members[add.NodeId]), cancellationToken))
                {
                    await Consensus.ReplicateAsync(new SetVotersCommand([.. voters.Append(add.NodeId).Order()]), cancellationToken);
                }

                break;
            case VoterChange.RemoveVoter remove:
                LogVoterChange(_logger, "removing", remove.NodeId);
                if (await Consensus.RemoveVoterAsync(RaftEndpoint(state.Members[remove.NodeId]), cancellationToken))
                {
                    await Consensus.ReplicateAsync(new SetVotersCommand([.. voters.Where(v => v != remove.NodeId).Order()]), cancellationToken);
                }

                break;
        }
    }

    /// <summary>
    /// This node restarted with another advertise address: record it, and its Raft endpoint, in the
    /// replicated state (gossip already spreads it, with a higher incarnation). Members' firewalls only
    /// let in addresses the state records, so the request goes through the leader's join port, with
    /// this node's certificate as proof of who it is and the current join token from the state.
    /// </summary>
    private async Task AnnounceNewAddressAsync(CancellationToken cancellationToken)
    {
        if (ClusterSecrets.CurrentToken(StateKey, State) is not { } token)
        {
            return;
        }

        var members = State.Members.Values.Where(m => m.NodeId != _node.Identity.Id).OrderBy(_ => Random.Shared.Next());
        foreach (var member in members)
        {
            try
            {
                var joined = await new JoinClient().JoinAsync(
                    new IPEndPoint(IPAddress.Parse(member.Addresses[0]), _endpoints.Join.Port).ToString(),
                    token, _node.Identity.Id, _node.Options.Name, [_node.Advertise], cancellationToken, Credentials.Certificate);
                // The certificate that came with it names the new address; the current one stays in use until renewal.
                joined.Credentials.Dispose();
                _addressMoved = false;
                LogAddressMoved(_logger, _node.Advertise);
                return;
            }
            catch (JoinFailedException ex)
            {
                LogFollowFailed(_logger, member.NodeId, ex.Message);
            }
        }
    }

    /// <summary>
    /// The leader keeps the Raft configuration equal to the voters the state records, one change at a
    /// time: a voter that moved to a new address is added at its new Raft endpoint, then its old one removed.
    /// </summary>
    private async Task<bool> AlignRaftConfigurationAsync(CancellationToken cancellationToken)
    {
        var recorded = State.Voters.Select(v => v.RaftEndpoint).ToList();
        var configured = Consensus.Voters;
        if (recorded.FirstOrDefault(r => !configured.Any(c => SameEndpoint(r, c))) is { } missing)
        {
            LogVoterChange(_logger, "adding endpoint", missing);
            await Consensus.AddVoterAsync(IPEndPoint.Parse(missing), cancellationToken);
            return true;
        }

        if (configured.FirstOrDefault(c => !recorded.Any(r => SameEndpoint(r, c))) is { } stale)
        {
            LogVoterChange(_logger, "removing endpoint", stale.ToString() ?? "");
            await Consensus.RemoveVoterAsync(stale, cancellationToken);
            return true;
        }

        return false;
    }

    /// <summary>The leader removes one member an operator asked to remove; returns whether there was one.</summary>
    private async Task<bool> CarryOutRemovalAsync(CancellationToken cancellationToken)
    {
        var state = State;
        var nodeId = MemberRemovals.Pending(state).FirstOrDefault();
        if (nodeId is null)
        {
            return false;
        }

        if (state.Members.TryGetValue(nodeId, out var member))
        {
            if (member.Role == MemberRole.Voter)
            {
                LogVoterChange(_logger, "removing", nodeId);
                if (!await Consensus.RemoveVoterAsync(RaftEndpoint(member), cancellationToken))
                {
                    return true;
                }

                state = await Consensus.ReplicateAsync(new SetVotersCommand([.. state.Voters.Select(v => v.NodeId).Where(v => v != nodeId).Order()]), cancellationToken);
            }

            state = await Consensus.ReplicateAsync(new RemoveMemberCommand(nodeId, [], DateTimeOffset.UtcNow, "removed by an operator"), cancellationToken);
            LogRemoved(_logger, member.Name, nodeId);
        }

        await Consensus.ReplicateAsync(MemberRemovals.Without(state, nodeId), cancellationToken);
        return true;
    }

    private MemberHealth Health(ClusterMember member, DateTimeOffset now)
    {
        if (member.NodeId == _node.Identity.Id)
        {
            return new MemberHealth(member.NodeId, member.JoinedAt, true);
        }

        var gossip = Gossip?.Find(member.NodeId);
        return gossip is { State: MemberState.Alive }
            ? new MemberHealth(member.NodeId, member.JoinedAt, true)
            : new MemberHealth(member.NodeId, member.JoinedAt, false, gossip?.StateChangedAt ?? member.JoinedAt);
    }

    /// <summary>
    /// Every node but the leader follows the state: non-voters live on what they pull; a voter pulls too, which
    /// costs an idle long poll and rescues a voter demoted while it was down (its own Raft replica stopped at the demotion).
    /// </summary>
    private async Task FollowLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                var answered = !IsLeader && await FollowStateAsync(cancellationToken);
                var pause = (answered ? FollowMinPeriod : TickInterval) - Stopwatch.GetElapsedTime(started);
                if (pause > TimeSpan.Zero)
                {
                    await Task.Delay(pause, cancellationToken);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogTickFailed(_logger, ex.Message);
                await Task.Delay(TickInterval, CancellationToken.None);
            }
        }
    }

    /// <summary>
    /// Pulls newer state from a voter, known from the state it has or, right after joining, from gossip
    /// (members announce their role). A non-voter is outside the Raft configuration and lives on this.
    /// </summary>
    /// <returns>Whether a voter answered (with a newer state or, after the wait, none).</returns>
    private async Task<bool> FollowStateAsync(CancellationToken cancellationToken)
    {
        var voters = State.Voters.Select(v => (v.NodeId, Address: IPAddress.Parse(v.Addresses[0])))
            .Concat((Gossip?.Members() ?? []).Where(m => m.Meta.Role is VoterRole or LeaderRole && m.State == MemberState.Alive).Select(m => (NodeId: m.Id, Address: m.Meta.Addresses[0])))
            .Where(v => v.NodeId != _node.Identity.Id)
            .DistinctBy(v => v.NodeId)
            .OrderBy(_ => Random.Shared.Next());
        foreach (var (nodeId, address) in voters)
        {
            try
            {
                if (await _control.FetchStateAsync(new ControlPeer(nodeId, new IPEndPoint(address, _endpoints.Requests.Port)), State.Version, FollowWait, cancellationToken) is { } newer)
                {
                    _followed = newer;
                    _store.Put(FollowedCollection, FollowedKey, newer, ConsensusJsonContext.Default.ClusterState);
                    StateChanged?.Invoke();
                }

                return true;
            }
            catch (Exception ex) when (ex is IOException or TimeoutException or System.Net.Sockets.SocketException or InvalidDataException or LeaderUnavailableException)
            {
                LogFollowFailed(_logger, nodeId, ex.Message);
            }
        }

        return false;
    }

    /// <summary>Asks member <paramref name="nodeId"/> to open new TCP connections back to this node on <paramref name="ports"/>.</summary>
    public Task<IReadOnlyList<PortReach>> ProbeBackAsync(string nodeId, IPAddress address, IReadOnlyList<int> ports, CancellationToken cancellationToken) =>
        _control.ProbeBackAsync(new ControlPeer(nodeId, new IPEndPoint(address, _endpoints.Requests.Port)), ports, cancellationToken);

    /// <summary>Asks member <paramref name="nodeId"/> what app instances its agent runs.</summary>
    public Task<System.Text.Json.JsonElement> ListInstancesAsync(string nodeId, IPAddress address, CancellationToken cancellationToken) =>
        _control.ListInstancesAsync(new ControlPeer(nodeId, new IPEndPoint(address, _endpoints.Requests.Port)), cancellationToken);

    public ClusterEndpoints Endpoints => _endpoints;

    private static IPEndPoint RaftEndpoint(ClusterMember member) => IPEndPoint.Parse(member.RaftEndpoint);

    private static bool SameEndpoint(string text, EndPoint endpoint) =>
        IPEndPoint.TryParse(text, out var parsed) && endpoint is IPEndPoint ip
            ? parsed.Address.Equals(ip.Address) && parsed.Port == ip.Port
            : string.Equals(text, endpoint.ToString(), StringComparison.OrdinalIgnoreCase);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        if (_followLoop is not null)
        {
            await _followLoop.ConfigureAwait(false);
        }

        // The memberlist owns its transport and disposes it; a transport bound before the memberlist existed is ours.
        if (Gossip is not null)
        {
            await Gossip.DisposeAsync();
        }
        else if (_transport is not null)
        {
            await _transport.DisposeAsync();
        }

        await Consensus.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        await Consensus.DisposeAsync();
        Credentials.Dispose();
        _caCertificate.Dispose();
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Cluster {ClusterId}: gossip on {Gossip}, Raft on {Control}")]
    private static partial void LogStarted(ILogger logger, string clusterId, IPEndPoint gossip, IPEndPoint control);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gossip reached {Reached} of {Seeds} seeds")]
    private static partial void LogGossipJoined(ILogger logger, int reached, int seeds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Voters: {Action} {NodeId}")]
    private static partial void LogVoterChange(ILogger logger, string action, string nodeId);

    [LoggerMessage(Level = LogLevel.Information, Message = "This node's address changed to {Address}; recorded in the cluster state")]
    private static partial void LogAddressMoved(ILogger logger, IPAddress address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gossip key ring updated: {Keys} keys, primary {Primary:x8}")]
    private static partial void LogKeysApplied(ILogger logger, int keys, uint primary);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node certificate renewed; valid until {NotAfter}")]
    private static partial void LogRenewed(ILogger logger, DateTimeOffset notAfter);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed member {Name} ({NodeId}); its certificate is revoked")]
    private static partial void LogRemoved(ILogger logger, string name, string nodeId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not fetch the state from voter {NodeId}: {Reason}")]
    private static partial void LogFollowFailed(ILogger logger, string nodeId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster housekeeping failed, will retry: {Reason}")]
    private static partial void LogTickFailed(ILogger logger, string reason);
}

/// <summary>Where this node listens for the cluster, all on its advertise address.</summary>
public sealed record ClusterEndpoints(IPEndPoint Gossip, IPEndPoint Control, IPEndPoint Requests, IPEndPoint Join)
{
    public static ClusterEndpoints On(IPAddress address) => new(
        new IPEndPoint(address, ClusterPorts.Gossip),
        new IPEndPoint(address, ClusterPorts.Control),
        new IPEndPoint(address, ClusterPorts.Requests),
        new IPEndPoint(address, ClusterPorts.Join));
}
