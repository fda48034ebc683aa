using Nanobox.Node.Tests.Labs;

namespace Nanobox.Node.Tests.ClusterLab;

using Nanobox.Lab;

/// <summary>
/// Voters killed with SIGKILL and started again, one after another as the cluster benchmark does: each
/// time the survivors see the voter dead, it comes back, and all five agree again (members, leader,
/// voters). A survivor that hangs (its admin socket, gossip or Raft stop answering) fails the round.
/// </summary>
[Trait("Category", "Lab")]
public sealed class VoterRestartLabTests(FiveHostLab fixture) : IClassFixture<FiveHostLab>
{
    private const int Restarts = 8;

    [Fact]
    public async Task A_voter_killed_and_restarted_again_and_again_converges_every_time()
    {
        var hosts = fixture.Lab.Hosts.ToArray();
        await ClusterProbe.FormAsync(hosts, CancellationToken.None);

        for (var round = 0; round < Restarts; round++)
        {
            var members = await ClusterProbe.ConvergeAsync(hosts, expected: 5, voters: 5);
            var leader = ClusterProbe.LeaderHost(hosts, members);
            var victim = hosts.Where(h => h != leader).ToArray()[round % (hosts.Length - 1)];
            var survivors = hosts.Where(h => h != victim).ToArray();

            await victim.Node.KillAsync();
            await ClusterProbe.EventuallyAsync(() => AllSeeDeadAsync(survivors, victim), hosts);

            await victim.Node.StartAsync();
            await victim.Node.WaitReadyAsync();
            await ClusterProbe.ConvergeAsync(hosts, expected: 5, voters: 5, timeout: TimeSpan.FromSeconds(30));
        }
    }

    /// <summary><paramref name="victim"/> when every survivor lists it dead; else null.</summary>
    private static async Task<LabHost?> AllSeeDeadAsync(LabHost[] survivors, LabHost victim)
    {
        foreach (var host in survivors)
        {
            if (!(await ClusterProbe.MembersAsync(host)).Any(m => m.Name == victim.Name && m.IsDead))
            {
                return null;
            }
        }

        return victim;
    }
}
