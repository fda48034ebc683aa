namespace Nanobox.Node.Tests.Labs;

using System.Diagnostics;
using Nanobox.Lab;

/// <summary>Creation, teardown and the stale sweep, checked against the whole machine.</summary>
[Trait("Category", "Lab")]
[Collection(MachineWideCollection.Name)]
public sealed class LabLifecycleTests
{
    [Fact]
    public async Task Dispose_leaves_no_namespace_process_mount_or_directory()
    {
        var lab = await Lab.StartAsync(new LabOptions { Hosts = 2, Docker = true });
        string[] namespaces;
        IReadOnlyCollection<int> pids;
        try
        {
            await lab["h1"].ImportTestImageAsync();
            // A running container: its processes live in a netns of their own, under dockerd's shim.
            (await lab["h1"].DockerAsync("run", "-d", "nanobox-lab/busybox:latest", "sleep", "600")).EnsureSuccess();
            await lab.CutAsync(lab["h1"], lab["h2"]);
            var sshd = await lab["h2"].StartSshdAsync();

            namespaces = Directory.GetFiles("/run/netns").Select(Path.GetFileName).Where(n => n!.StartsWith($"nbx{lab.Id}-")).ToArray()!;
            Assert.Equal(3, namespaces.Length);
            var inNamespaces = new List<int>();
            foreach (var ns in namespaces)
            {
                inNamespaces.AddRange(await Netns.PidsAsync(ns, default));
            }

            pids = Processes.WithDescendants(inNamespaces);
            Assert.Contains(lab["h1"].Node.Pid!.Value, pids);
            Assert.Contains(sshd.Pid, pids);
            Assert.True(pids.Count > 6, $"expected agents, dockerds, containerds, a shim, a container and sshd; got {pids.Count}");
            Assert.NotEmpty(Mounts.Under(lab.FilesDirectory, lab.RunDirectory));
        }
        finally
        {
            await lab.DisposeAsync();
        }

        Assert.DoesNotContain(Directory.GetFiles("/run/netns"), n => Path.GetFileName(n).StartsWith($"nbx{lab.Id}-"));
        Assert.DoesNotContain(pids, Processes.IsAlive);
        Assert.Empty(Mounts.Under(lab.FilesDirectory, lab.RunDirectory));
        Assert.False(Directory.Exists(lab.FilesDirectory));
        Assert.False(Directory.Exists(lab.RunDirectory));
        await lab.DisposeAsync(); // twice is fine
    }

    [Fact]
    public async Task Sweep_removes_an_abandoned_lab_but_never_a_live_one()
    {
        await using var abandoned = await Lab.StartAsync(new LabOptions { Hosts = 1 });
        await using var live = await Lab.StartAsync(new LabOptions { Hosts = 1, StartNodes = false });
        var agent = abandoned["h1"].Node.Pid!.Value;

        // Simulate an owner that died without disposing: a pid that has exited.
        using var gone = Process.Start("/bin/true")!;
        await gone.WaitForExitAsync();
        LabOwner.Write(new LabPaths(abandoned.Id), gone.Id, 1);

        var log = new List<string>();
        var swept = await Lab.SweepStaleAsync(log.Add);

        Assert.Equal(1, swept);
        Assert.Contains(log, l => l.Contains(abandoned.Id));
        Assert.False(File.Exists($"/run/netns/{abandoned.Hosts[0].Namespace}"));
        Assert.False(Processes.IsAlive(agent));
        Assert.False(Directory.Exists(abandoned.FilesDirectory));
        Assert.False(Directory.Exists(abandoned.RunDirectory));

        Assert.True(File.Exists($"/run/netns/{live.Hosts[0].Namespace}"));
        Assert.True(File.Exists($"/run/netns/{live.SwitchNamespace}"));
        Assert.True(Directory.Exists(live.RunDirectory));
        Assert.Equal(0, await Lab.SweepStaleAsync(log.Add));
    }

    [Fact]
    public async Task Manual_labs_are_never_swept()
    {
        await using var lab = await Lab.StartAsync(new LabOptions { Hosts = 1, StartNodes = false, Persistent = true });
        Assert.Equal("manual", File.ReadAllText(Path.Combine(lab.RunDirectory, "owner.pid")).Trim());
        await Lab.SweepStaleAsync(_ => { });
        Assert.True(File.Exists($"/run/netns/{lab.SwitchNamespace}"));
    }

    [Fact]
    public async Task The_root_namespace_links_routes_and_ruleset_are_unchanged()
    {
        var before = await RootSnapshotAsync();
        await using (var lab = await Lab.StartAsync(new LabOptions { Hosts = 2, Docker = true }))
        {
            await lab.CutAsync(lab["h1"], lab["h2"]);
            await lab.IsolateAsync(lab["h2"]);
            await lab.SetLossAsync(lab["h1"], 50);
            await lab["h1"].ImportTestImageAsync();
            (await lab["h1"].DockerAsync("run", "--rm", "nanobox-lab/busybox:latest", "true")).EnsureSuccess();
            await lab["h1"].StartSshdAsync();
            await lab["h2"].ScanAsync(lab["h1"].Address, new ScanRequest { Tcp = [22, 23], Udp = [53] });
            Assert.Equal(before, await RootSnapshotAsync());
        }

        Assert.Equal(before, await RootSnapshotAsync());
    }

    [Fact]
    public async Task A_missing_binary_fails_with_the_publish_hint_before_creating_anything()
    {
        var namespacesBefore = Directory.Exists("/run/netns") ? Directory.GetFiles("/run/netns").Length : 0;
        var ex = await Assert.ThrowsAsync<LabPrerequisiteException>(() =>
            Lab.StartAsync(new LabOptions { Hosts = 1, NodeBinary = "/nonexistent/nanobox" }));
        Assert.Contains("run ./publish.sh first", ex.Message);
        Assert.Equal(namespacesBefore, Directory.Exists("/run/netns") ? Directory.GetFiles("/run/netns").Length : 0);
    }

    /// <summary>Read-only views of the root namespace (this process runs in it). Never modifies anything.</summary>
    private static async Task<string> RootSnapshotAsync()
    {
        var parts = new List<string>();
        foreach (var (file, args) in new (string, string[])[]
                 {
                     ("ip", ["-o", "link"]),
                     ("ip", ["route"]),
                     ("ip", ["-6", "route"]),
                     ("nft", ["list", "ruleset"]),
                     // Lab hosts lift ICMP rate limits in their own namespaces only.
                     ("sysctl", ["net.ipv4.icmp_ratemask", "net.ipv6.icmp.ratemask", "net.ipv6.icmp.ratelimit"]),
                 })
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
            args.ToList().ForEach(psi.ArgumentList.Add);
            using var p = Process.Start(psi)!;
            var output = await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            Assert.Equal(0, p.ExitCode);
            parts.Add($"$ {file} {string.Join(' ', args)}\n{output}");
        }

        return string.Join('\n', parts);
    }
}
