using Nanobox.Node.Tests.Labs;

namespace Nanobox.Node.Tests.ClusterLab;

using Nanobox.Lab;

/// <summary>
/// A voter killed with SIGKILL and started again rejoins its Raft configuration every time: the leader
/// reaches it over a fresh mutual-TLS connection and the whole cluster agrees again.
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
        var restarts = int.TryParse(Environment.GetEnvironmentVariable("NANOBOX_TEST_RESTARTS"), out var n) ? n : Restarts;

        try
        {
        for (var round = 0; round < restarts; round++)
        {
            Console.Error.WriteLine($"REPRO round {round} {DateTime.UtcNow:HH:mm:ss.fff}");
            var members = await ClusterProbe.ConvergeAsync(hosts, expected: 5, voters: 5);
            var leader = ClusterProbe.LeaderHost(hosts, members);
            var followers = hosts.Where(h => h != leader).ToArray();
            var victim = followers[round % followers.Length];

            // As the cluster benchmark does: the survivors see the voter dead before it comes back.
            await victim.Node.KillAsync();
            await ClusterProbe.EventuallyAsync(async () =>
            {
                foreach (var host in hosts.Where(h => h != victim))
                {
                    if (!(await ClusterProbe.MembersAsync(host)).Any(m => m.Name == victim.Name && m.IsDead))
                    {
                        return null;
                    }
                }

                return victim;
            }, hosts);

            await victim.Node.StartAsync();
            await victim.Node.WaitReadyAsync();
            await ClusterProbe.ConvergeAsync(hosts, expected: 5, voters: 5, timeout: TimeSpan.FromSeconds(30));
        }
        }
        catch
        {
            var dir = Directory.CreateDirectory($"/tmp/voter-repro/{DateTime.UtcNow:HHmmss}");
            foreach (var h in hosts) File.Copy(h.LogPath, Path.Combine(dir.FullName, h.Name + ".log"));
            throw;
        }
    }
}
