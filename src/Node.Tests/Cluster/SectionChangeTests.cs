using System.Text.Json;
using Nanobox.Node.Cluster;
using Nanobox.Node.Cluster.Consensus;

namespace Nanobox.Node.Tests.Cluster;

/// <summary>
/// A section change refused on a revision conflict is made again, on the newer state, when this node's copy of the
/// state was behind the leader's; up to three attempts, and never when the copy did not move.
/// </summary>
public sealed class SectionChangeTests
{
    private static readonly JsonElement Section = JsonDocument.Parse("""{"replicas":2}""").RootElement;

    /// <summary>This node's copy of the state, moved by the replicate fakes as a change committed elsewhere would.</summary>
    private ClusterState _local = ClusterState.Empty with { Version = 5 };

    /// <summary>The versions each attempt's change was computed from, in order.</summary>
    private readonly List<long> _computedFrom = [];

    /// <summary>Each attempt's command, as the leader would have been asked.</summary>
    private readonly List<PutSectionCommand> _replicated = [];

    [Fact]
    public async Task A_conflict_against_a_copy_that_was_behind_is_made_again_on_the_newer_state()
    {
        var committed = await ChangeAsync(_ => _replicated.Count == 1
            ? ConflictAfterCatchingUp()
            : Task.FromResult(_local with { Version = _local.Version + 1 }));

        Assert.Equal([5L, 6L], _computedFrom);
        Assert.Equal([5L, 6L], _replicated.Select(c => c.ExpectedRevision!.Value));
        Assert.Equal(7, committed.Version);
    }

    [Fact]
    public async Task A_conflict_is_given_up_after_three_attempts_even_while_the_copy_keeps_moving()
    {
        var refused = await Assert.ThrowsAsync<ClusterException>(() => ChangeAsync(_ => ConflictAfterCatchingUp()));

        Assert.Equal(ClusterErrorKind.Conflict, refused.Kind);
        Assert.Equal([5L, 6L, 7L], _computedFrom);
    }

    [Fact]
    public async Task A_conflict_stands_without_another_attempt_when_the_copy_did_not_move()
    {
        var refused = await Assert.ThrowsAsync<ClusterException>(() => ChangeAsync(_ => throw Conflict()));

        Assert.Equal(ClusterErrorKind.Conflict, refused.Kind);
        Assert.Equal([5L], _computedFrom);
    }

    [Fact]
    public async Task Other_failures_are_not_retried()
    {
        var refused = await Assert.ThrowsAsync<ClusterException>(() => ChangeAsync(_ =>
        {
            _local = _local with { Version = _local.Version + 1 };
            throw new ClusterException(ClusterErrorKind.NoQuorum, "no leader");
        }));

        Assert.Equal(ClusterErrorKind.NoQuorum, refused.Kind);
        Assert.Equal([5L], _computedFrom);
    }

    /// <summary>Runs the change with <paramref name="leader"/> answering each attempt.</summary>
    private Task<ClusterState> ChangeAsync(Func<PutSectionCommand, Task<ClusterState>> leader) =>
        ClusterService.ChangeSectionAsync(
            () => _local,
            (command, _) =>
            {
                var put = Assert.IsType<PutSectionCommand>(command);
                _replicated.Add(put);
                return leader(put);
            },
            state =>
            {
                _computedFrom.Add(state.Version);
                return new PutSectionCommand("scale", Section, ExpectedRevision: state.Version);
            },
            CancellationToken.None);

    /// <summary>The leader refuses: a change committed elsewhere, which this node's copy now catches up with.</summary>
    private Task<ClusterState> ConflictAfterCatchingUp()
    {
        _local = _local with { Version = _local.Version + 1 };
        throw Conflict();
    }

    private static ClusterException Conflict() => new(ClusterErrorKind.Conflict, "the section's revision moved on");
}
