using System.Buffers;
using DotNext.IO;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Microsoft.Extensions.Logging;

namespace Nanobox.Node.Cluster.Consensus;

/// <summary>
/// Applies committed log entries to the in-memory <see cref="ClusterState"/> and snapshots it (the
/// whole document, JSON) so the WAL can drop what the snapshot covers.
/// </summary>
internal sealed class ClusterStateMachine(DirectoryInfo location, int snapshotEvery, ILogger logger) : SimpleStateMachine(location)
{
    private volatile ClusterState _state = ClusterState.Empty;

    // The state as of the entry that asked for a snapshot: a later apply must not leak into a
    // snapshot labelled with an earlier index, or replay after it would apply that entry twice.
    private volatile ClusterState _snapshotCandidate = ClusterState.Empty;

    public ClusterState State => _state;

    /// <summary>Raised on the apply path after every accepted command and every snapshot restore; keep handlers short.</summary>
    public event Action<ClusterState>? Changed;

    protected override ValueTask<bool> ApplyAsync(LogEntry entry, CancellationToken token)
    {
        // Raft's own entries (configuration, a new leader's empty entry) carry no command.
        if (entry.IsConfiguration || !entry.TryGetPayload(out var payload) || payload.IsEmpty)
            return new(false);

        // An entry this node cannot decode stops it: skipping it would diverge from the other replicas.
        var command = ConsensusCodec.DecodeCommand(payload.IsSingleSegment ? payload.FirstSpan : payload.ToArray());
        var outcome = entry.Context as ApplyOutcome;
        try
        {
            var next = ClusterTransitions.Apply(_state, command);
            _state = next;
            outcome?.TrySetResult(next);
            Publish(next);
        }
        catch (ClusterCommandRejectedException e)
        {
            ConsensusLog.CommandRefused(logger, entry.Index, e.Message);
            outcome?.TrySetException(e);
        }

        var snapshot = entry.Index % snapshotEvery == 0;
        if (snapshot)
            _snapshotCandidate = _state;
        return new(snapshot);
    }

    protected override ValueTask PersistAsync(IAsyncBinaryWriter writer, CancellationToken token) =>
        writer.WriteAsync(ConsensusCodec.EncodeState(_snapshotCandidate), lengthFormat: null, token);

    protected override async ValueTask RestoreAsync(FileInfo snapshotFile, CancellationToken token)
    {
        var restored = ConsensusCodec.DecodeState(await File.ReadAllBytesAsync(snapshotFile.FullName, token).ConfigureAwait(false));
        _state = _snapshotCandidate = restored;
        Publish(restored);
    }

    private void Publish(ClusterState state)
    {
        try
        {
            Changed?.Invoke(state);
        }
        catch (Exception e)
        {
            // A subscriber's bug must not stop the replica from applying the log.
            ConsensusLog.StateChangedHandlerFailed(logger, e);
        }
    }
}

/// <summary>
/// Rides with a log entry proposed on this node (DotNext passes the context through to the state
/// machine) to hand the proposer what applying it produced: the new state or the refusal.
/// </summary>
internal sealed class ApplyOutcome() : TaskCompletionSource<ClusterState>(TaskCreationOptions.RunContinuationsAsynchronously);
