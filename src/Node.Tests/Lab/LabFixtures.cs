namespace Nanobox.Node.Tests.Labs;

// Inside the namespace: otherwise `Lab` would resolve to the namespace Nanobox.Lab, not the class.
using Nanobox.Lab;

/// <summary>One lab shared by the tests of a class: building it costs seconds, a test milliseconds.</summary>
public abstract class LabFixture(LabOptions options) : IAsyncLifetime
{
    public Lab Lab { get; private set; } = null!;

    public async Task InitializeAsync() => Lab = await Lab.StartAsync(options);

    public async Task DisposeAsync() => await Lab.DisposeAsync();
}

/// <summary>Three hosts with nodes, no Docker.</summary>
public sealed class ThreeHostLab() : LabFixture(new LabOptions { Hosts = 3 });

/// <summary>Four hosts with nodes: a cluster of three and a late joiner, or a cluster of four.</summary>
public sealed class FourHostLab() : LabFixture(new LabOptions { Hosts = 4 });

/// <summary>Five hosts with nodes: a cluster large enough for five voters.</summary>
public sealed class FiveHostLab() : LabFixture(new LabOptions { Hosts = 5 });

/// <summary>Six hosts: a cluster of five and a late joiner.</summary>
public sealed class SixHostLab() : LabFixture(new LabOptions { Hosts = 6 });

/// <summary>One host with a node, for node lifecycle tests.</summary>
public sealed class OneHostLab() : LabFixture(new LabOptions { Hosts = 1 });

/// <summary>Two hosts without nodes: for the lab's own tools (sshd, the port scanner) against a quiet host.</summary>
public sealed class BareTwoHostLab() : LabFixture(new LabOptions { Hosts = 2, StartNodes = false });

/// <summary>Two hosts, each with its own dockerd and the test image imported.</summary>
public sealed class DockerLab() : LabFixture(new LabOptions { Hosts = 2, Docker = true, StartNodes = false });

/// <summary>
/// Tests that build and tear down labs of their own and look at the whole machine (the root namespace,
/// the stale sweep): they run alone, after the parallel ones, so no other lab comes or goes meanwhile.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MachineWideCollection
{
    public const string Name = "lab: machine-wide";
}

internal static class Eventually
{
    /// <summary>Polls until <paramref name="condition"/> holds; false if it never did within <paramref name="timeout"/>.</summary>
    public static async Task<bool> HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        do
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(200);
        }
        while (DateTime.UtcNow < deadline);

        return false;
    }
}
