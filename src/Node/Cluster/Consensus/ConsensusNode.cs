using System.Net;
using DotNext.Net.Cluster;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Security;

namespace Nanobox.Node.Cluster.Consensus;

/// <summary>
/// This node's Raft voter: DotNext's RaftCluster over mTLS TCP on the control endpoint, the WAL and
/// state snapshots under <c>&lt;data-dir&gt;/raft/</c>, and writes from any node routed to the leader.
/// Reads (<see cref="State"/>) are local and always answer, possibly stale.
/// </summary>
public sealed class ConsensusNode : IControlRequestHandler, IAsyncDisposable
{
    private const string NodeIdKey = "nanobox.node-id";
    private const string RequestsKey = "nanobox.requests";

    /// <summary>Between attempts to place a write: a fraction of the election timeout, so a fresh leader is found quickly.</summary>
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(50);

    private readonly ConsensusOptions _options;
    private readonly IControlTlsOptions _tls;
    private readonly IStreamSecurity _streamSecurity;
    private readonly ILeaderForwarder _forwarder;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    // Held across a Raft membership change; only that change takes it, and the apply path (StateChanged) never waits on it.
    private readonly SemaphoreSlim _membershipLock = new(1, 1);

    private ClusterStateMachine? _stateMachine;
    private bool _stateMachineDisposed;
    private WriteAheadLog? _wal;
    private RaftMembersFile? _members;
    private RaftCluster? _raft;
    private ControlRequestServer? _requests;

    /// <param name="forwarder">Carries writes to the leader; null: <see cref="ControlClient"/> over <paramref name="streamSecurity"/>.</param>
    public ConsensusNode(ConsensusOptions options, IControlTlsOptions tls, IStreamSecurity streamSecurity, ILoggerFactory loggerFactory, ILeaderForwarder? forwarder = null)
    {
        options.Validate();
        _options = options;
        _tls = tls;
        _streamSecurity = streamSecurity;
        _forwarder = forwarder ?? new ControlClient(streamSecurity);
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Nanobox.Consensus");
    }

    /// <summary>The last state this node applied: always available, possibly behind the leader's.</summary>
    public ClusterState State => _stateMachine?.State ?? ClusterState.Empty;

    public bool IsLeader => _raft is { } raft && !raft.LeadershipToken.IsCancellationRequested;

    /// <summary>The leader's Raft endpoint as this node last heard; null while there is none.</summary>
    public EndPoint? Leader => _raft?.Leader?.EndPoint;

    /// <summary>The Raft configuration as this node knows it: the voters' Raft endpoints.</summary>
    public IReadOnlyList<EndPoint> Voters => _raft?.Members.Select(static m => m.EndPoint).ToArray() ?? [];

    /// <summary>The leader changed; null while none is known (an election runs, or this node is cut off).</summary>
    public event Action<EndPoint?>? LeaderChanged;

    /// <summary>A command was applied (or a snapshot installed): the new state. Raised on the apply path; keep handlers short.</summary>
    public event Action<ClusterState>? StateChanged;

    /// <inheritdoc />
    public async Task<ClusterState> WaitForNewerStateAsync(long sinceVersion, TimeSpan wait, CancellationToken cancellationToken)
    {
        var newer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChanged(ClusterState state)
        {
            if (state.Version > sinceVersion)
            {
                newer.TrySetResult();
            }
        }

        StateChanged += OnChanged;
        try
        {
            // Checked after subscribing: a change between the check and the subscription is not missed.
            if (State.Version <= sinceVersion)
            {
                await newer.Task.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (TimeoutException)
        {
            // Nothing newer within the wait: the follower hears "unchanged" and asks again.
        }
        finally
        {
            StateChanged -= OnChanged;
        }

        return State;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var raftDir = Directory.CreateDirectory(_options.RaftDirectory);
        var walDir = Path.Combine(raftDir.FullName, "wal");
        var coldStart = _options.Bootstrap && !(Directory.Exists(walDir) && Directory.EnumerateFileSystemEntries(walDir).Any());

        var stateMachine = new ClusterStateMachine(raftDir.CreateSubdirectory("snapshots"), _options.SnapshotEvery, _logger);
        stateMachine.Changed += state => StateChanged?.Invoke(state);
        // The WAL reads the restored snapshot's index in its constructor: restore first, or it replays from zero.
        await stateMachine.RestoreAsync(cancellationToken).ConfigureAwait(false);
        _stateMachine = stateMachine;
        _wal = new WriteAheadLog(new WriteAheadLog.Options { Location = walDir }, stateMachine);

        var config = new RaftCluster.TcpConfiguration(_options.ControlEndPoint)
        {
            LowerElectionTimeout = (int)_options.LowerElectionTimeout.TotalMilliseconds,
            UpperElectionTimeout = (int)_options.UpperElectionTimeout.TotalMilliseconds,
            RequestTimeout = _options.RequestTimeout,
            ConnectTimeout = _options.ConnectTimeout,
            ColdStart = coldStart,
            ConfigurationStorage = _members = new RaftMembersFile(Path.Combine(raftDir.FullName, "members")),
            WarmupRounds = _options.WarmupRounds,
            SslOptions = new ControlSslOptions(_tls, _logger),
            LoggerFactory = _loggerFactory,
        };
        config.Metadata[NodeIdKey] = _options.NodeId;
        config.Metadata[RequestsKey] = _options.RequestsEndPoint.ToString();

        var raft = new RaftCluster(config) { AuditTrail = _wal };
        raft.LeaderChanged += (_, leader) =>
        {
            // DotNext reports "no leader" as null: an election is running or this node is cut off.
            ConsensusLog.LeaderChanged(_logger, leader?.EndPoint.ToString() ?? "unknown");
            LeaderChanged?.Invoke(leader?.EndPoint);
        };
        _raft = raft;
        await raft.StartAsync(cancellationToken).ConfigureAwait(false);

        _requests = new ControlRequestServer(_options, _streamSecurity, this, _logger);
        _requests.Start();
        ConsensusLog.Started(_logger, _options.ControlEndPoint.ToString(), coldStart, State.Version);
    }

    /// <summary>
    /// Applies <paramref name="command"/> through Raft: here when this node leads, else forwarded to
    /// the leader. Retries across elections until <see cref="ConsensusOptions.WriteTimeout"/>.
    /// </summary>
    /// <returns>The state right after the command was applied.</returns>
    /// <exception cref="ClusterCommandRejectedException">The command is invalid against the state.</exception>
    /// <exception cref="NoQuorumException">No leader with a quorum was found in time.</exception>
    /// <exception cref="WriteOutcomeUnknownException">The leader took the write but lost leadership or the connection before answering.</exception>
    public async Task<ClusterState> ReplicateAsync(ClusterCommand command, CancellationToken cancellationToken)
    {
        var raft = _raft ?? throw new InvalidOperationException("consensus is not started");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.WriteTimeout);
        try
        {
            while (true)
            {
                try
                {
                    if (IsLeader)
                        return await ReplicateAsLeaderAsync(command, timeout.Token).ConfigureAwait(false);
                    if (await FindLeaderAsync(raft, timeout.Token).ConfigureAwait(false) is { } leader)
                        return await _forwarder.ForwardAsync(leader, command, timeout.Token).ConfigureAwait(false);
                }
                catch (LeaderUnavailableException e)
                {
                    ConsensusLog.WriteRetry(_logger, e.Message);
                }

                await Task.Delay(RetryDelay, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new NoQuorumException(Math.Max(1, raft.Members.Count));
        }
    }

    /// <summary>Replicates from this node, which must lead and hear from a majority.</summary>
    /// <summary>Signs node certificate renewals on the leader; set by the cluster layer, which holds the CA.</summary>
    /// <summary>What this node's agent reports of its app instances when a member asks (`nanobox ps`); null: none.</summary>
    public Func<System.Text.Json.JsonElement>? InstanceReport { get; set; }

    System.Text.Json.JsonElement? IControlRequestHandler.Instances() => InstanceReport?.Invoke();

    public Func<string, byte[], CancellationToken, Task<byte[]>>? CertificateSigner { get; set; }

    /// <summary>Serves peers' image and log requests on the request port; set by the cluster layer before start.</summary>
    internal IPeerDataHandler? PeerData { get; set; }

    IPeerDataHandler? IControlRequestHandler.PeerData => PeerData;

    Task<byte[]> IControlRequestHandler.SignCertificateAsync(string peerNodeId, byte[] certificateRequest, CancellationToken cancellationToken) =>
        IsLeader && CertificateSigner is { } signer
            ? signer(peerNodeId, certificateRequest, cancellationToken)
            : throw new LeaderUnavailableException("this node is not the leader; only the leader signs certificates");

    public async Task<ClusterState> ReplicateAsLeaderAsync(ClusterCommand command, CancellationToken cancellationToken)
    {
        var raft = _raft ?? throw new InvalidOperationException("consensus is not started");
        // Refuse before appending when this node cannot commit anyway: not leading, or the leader
        // lost contact with the majority (ConsensusToken). A minority leader then refuses at once.
        if (raft.LeadershipToken.IsCancellationRequested || raft.ConsensusToken.IsCancellationRequested)
            throw new LeaderUnavailableException("this node does not lead a majority");

        // Refuse invalid commands synchronously; the state machine checks again at apply time.
        ClusterTransitions.Apply(State, command);

        var outcome = new ApplyOutcome();
        try
        {
            await raft.ReplicateAsync(ConsensusCodec.EncodeCommand(command), outcome, cancellationToken).ConfigureAwait(false);
        }
        catch (LeaderOperationException e)
        {
            throw new WriteOutcomeUnknownException("this node lost its leadership before the write committed; it may still commit under the next leader", e);
        }

        return await outcome.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<ControlPeer?> FindLeaderAsync(RaftCluster raft, CancellationToken cancellationToken)
    {
        if (raft.Leader is not { IsRemote: true } leader)
            return null;
        IReadOnlyDictionary<string, string> metadata;
        try
        {
            // Cached after the first fetch; the leader's address book does not change while it leads.
            metadata = leader.TryGetMetadata() ?? await leader.GetMetadataAsync(false, cancellationToken).ConfigureAwait(false);
        }
        catch (MemberUnavailableException e)
        {
            throw new LeaderUnavailableException($"the leader {leader.EndPoint} is unreachable", e);
        }

        if (!metadata.TryGetValue(NodeIdKey, out var nodeId) || !metadata.TryGetValue(RequestsKey, out var requests) || !IPEndPoint.TryParse(requests, out var endPoint))
            throw new LeaderUnavailableException($"the leader {leader.EndPoint} advertises no control request endpoint");
        return new ControlPeer(nodeId, endPoint);
    }

    /// <summary>Adds a voter to the Raft configuration (on the leader). The node must be running and empty; it is caught up before the change commits.</summary>
    /// <returns>False when the node did not catch up or the change did not commit.</returns>
    public Task<bool> AddVoterAsync(EndPoint raftEndPoint, CancellationToken cancellationToken) =>
        ChangeMembershipAsync("add", raftEndPoint, static (raft, endPoint, ct) => raft.AddMemberAsync(endPoint, ct), cancellationToken);

    /// <summary>Removes a voter from the Raft configuration (on the leader).</summary>
    public Task<bool> RemoveVoterAsync(EndPoint raftEndPoint, CancellationToken cancellationToken) =>
        ChangeMembershipAsync("remove", raftEndPoint, static (raft, endPoint, ct) => raft.RemoveMemberAsync(endPoint, ct), cancellationToken);

    private async Task<bool> ChangeMembershipAsync(string change, EndPoint endPoint, Func<RaftCluster, EndPoint, CancellationToken, Task<bool>> apply, CancellationToken cancellationToken)
    {
        var raft = _raft ?? throw new InvalidOperationException("consensus is not started");
        // Raft changes its configuration one member at a time; queue ours instead of failing.
        await _membershipLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                if (!IsLeader)
                    throw new InvalidOperationException($"only the leader changes the Raft configuration; the leader is {Leader?.ToString() ?? "unknown"}");
                try
                {
                    var done = await apply(raft, endPoint, cancellationToken).ConfigureAwait(false);
                    ConsensusLog.MembershipChanged(_logger, change, endPoint.ToString()!, done ? "committed" : "not committed");
                    return done;
                }
                catch (RaftCluster.ConcurrentMembershipModificationException)
                {
                    // A change proposed before ours (e.g. by a previous leader) is still in flight.
                    ConsensusLog.MembershipBusy(_logger, change, endPoint.ToString()!);
                    await Task.Delay(RetryDelay, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _membershipLock.Release();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_requests is { } requests)
        {
            _requests = null;
            await requests.DisposeAsync().ConfigureAwait(false);
        }

        if (_raft is { } raft)
        {
            _raft = null;
            await raft.StopAsync(cancellationToken).ConfigureAwait(false);
            await raft.DisposeAsync().ConfigureAwait(false);
        }

        if (_wal is { } wal)
        {
            _wal = null;
            await wal.DisposeAsync().ConfigureAwait(false);
        }

        // The state machine object stays: State keeps answering with the last applied state.
        if (_stateMachine is { } stateMachine && !_stateMachineDisposed)
        {
            _stateMachineDisposed = true;
            await stateMachine.DisposeAsync().ConfigureAwait(false);
        }

        _members?.Dispose();
        _members = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _membershipLock.Dispose();
    }
}
