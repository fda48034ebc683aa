namespace Nanobox.Node.Tests.Labs;

using Nanobox.Lab;

/// <summary>A dockerd per host, inside the host's namespace, running the registry-free test image.</summary>
[Trait("Category", "Lab")]
public sealed class LabDockerTests(DockerLab fixture) : IClassFixture<DockerLab>, IAsyncLifetime
{
    private const string Image = "nanobox-lab/busybox:latest";

    private Lab Lab => fixture.Lab;

    public async Task InitializeAsync()
    {
        foreach (var host in Lab.Hosts)
        {
            await host.ImportTestImageAsync();
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Every_host_runs_the_busybox_image_on_its_own_engine()
    {
        foreach (var host in Lab.Hosts)
        {
            var run = (await host.DockerAsync("run", "--rm", Image, "echo", "hi")).EnsureSuccess();
            Assert.Equal("hi", run.Stdout.Trim());
        }

        // Separate engines: a container made in h1 is unknown to h2.
        var name = $"only-in-h1-{Guid.NewGuid():N}";
        (await Lab["h1"].DockerAsync("create", "--name", name, Image)).EnsureSuccess();
        Assert.Equal(0, (await Lab["h1"].DockerAsync("inspect", name)).ExitCode);
        Assert.NotEqual(0, (await Lab["h2"].DockerAsync("inspect", name)).ExitCode);
        (await Lab["h1"].DockerAsync("rm", name)).EnsureSuccess();
    }

    [Fact]
    public async Task The_image_has_an_unprivileged_app_user_and_a_sticky_tmp()
    {
        var host = Lab["h1"];
        var id = (await host.DockerAsync("run", "--rm", "--user", "app", Image, "id")).EnsureSuccess().Stdout;
        Assert.Contains("uid=1000(app) gid=1000(app)", id);
        var tmp = (await host.DockerAsync("run", "--rm", Image, "stat", "-c", "%a", "/tmp")).EnsureSuccess().Stdout;
        Assert.Equal("1777", tmp.Trim());
        var cmd = (await host.DockerAsync("image", "inspect", "--format", "{{json .Config.Cmd}}", Image)).EnsureSuccess().Stdout;
        Assert.Equal("[\"/bin/sh\"]", cmd.Trim());
    }

    [Fact]
    public async Task Docker_networking_lives_in_the_host_namespace_and_follows_lab_faults()
    {
        var (h1, h2) = (Lab["h1"], Lab["h2"]);
        // docker0 exists in the host, not in the root namespace.
        Assert.Equal(0, (await h1.RunAsync("ip", ["link", "show", "docker0"])).ExitCode);
        Assert.False(Directory.Exists("/sys/class/net/docker0"), "docker0 must not appear in the root namespace");

        var ping = new[] { "run", "--rm", Image, "ping", "-c", "1", "-W", "2", h2.Address.ToString() };
        Assert.Equal(0, (await h1.DockerAsync(ping)).ExitCode);
        await Lab.CutAsync(h1, h2);
        try
        {
            Assert.NotEqual(0, (await h1.DockerAsync(ping)).ExitCode);
        }
        finally
        {
            await Lab.HealAsync(h1, h2);
        }

        Assert.True(await Eventually.HoldsAsync(async () => (await h1.DockerAsync(ping)).ExitCode == 0, TimeSpan.FromSeconds(15)));
    }
}
