using System.Net;
using System.Net.NetworkInformation;
using Docker.DotNet.Models;
using Nanobox.Node.Runtime.Docker;
using NetworkAttachment = Nanobox.Node.Runtime.Docker.NetworkAttachment;

namespace Nanobox.Node.Tests.Runtime.Docker;

public sealed class ContainerSpecBuilderTests
{
    private const string NodeId = "abcdefghijklmnopqrstuvwxyz";
    private const string ImageId = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    internal static ContainerPlan Plan() => new()
    {
        App = "shop",
        Component = "web.main",
        Instance = 2,
        NodeId = NodeId,
        Image = ImageId,
        Command = ["/bin/server", "--port", "8080"],
        Environment = new Dictionary<string, string> { ["MODE"] = "prod", ["A_FIRST"] = "x=y" },
        User = "1000:1000",
        WritableDirectories = new Dictionary<string, string> { ["/app/cache"] = "/var/lib/nanobox/apps/shop/web.main/2/cache" },
        NetworkDirectories = new Dictionary<string, string> { ["/app/uploads"] = "/var/lib/nanobox/apps/shop/web.main/uploads" },
        Ports = [new ContainerPort(8080)],
        MemoryBytes = 256L * 1024 * 1024,
        NanoCpus = 500_000_000,
        PidsLimit = 128,
        CapAdd = ["net_bind_service"],
        Labels = new Dictionary<string, string> { ["team"] = "checkout" },
        Network = new NetworkAttachment("nanobox", IPAddress.Parse("10.210.1.5"), PhysicalAddress.Parse("02-6E-62-0A-01-05")),
        Fingerprint = "v7:3f2a",
        TmpSizeBytes = 16L * 1024 * 1024,
    };

    private static CreateContainerParameters Build() => ContainerSpecBuilder.Build(Plan());

    private static ContainerPlanException Refused(ContainerPlan plan) => Assert.Throws<ContainerPlanException>(() => ContainerSpecBuilder.Build(plan));

    [Fact]
    public void The_process_runs_as_the_planned_non_root_user_with_no_privilege()
    {
        var spec = Build();

        Assert.Equal("1000:1000", spec.User);
        Assert.False(spec.HostConfig!.Privileged);
        Assert.Equal(["no-new-privileges:true"], spec.HostConfig!.SecurityOpt);
        Assert.DoesNotContain(spec.HostConfig!.SecurityOpt, o => o.StartsWith("seccomp", StringComparison.Ordinal) || o.StartsWith("apparmor", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_capability_is_dropped_and_only_the_planned_ones_come_back()
    {
        var spec = Build();

        Assert.Equal(["ALL"], spec.HostConfig!.CapDrop);
        Assert.Equal(["NET_BIND_SERVICE"], spec.HostConfig!.CapAdd);
        Assert.Empty(ContainerSpecBuilder.Build(Plan() with { CapAdd = [] }).HostConfig!.CapAdd!);
    }

    [Fact]
    public void Net_bind_service_makes_every_port_unprivileged_in_the_containers_own_network_only()
    {
        Assert.Equal(new Dictionary<string, string> { ["net.ipv4.ip_unprivileged_port_start"] = "0" }, Build().HostConfig!.Sysctls);
        Assert.Null(ContainerSpecBuilder.Build(Plan() with { CapAdd = [] }).HostConfig!.Sysctls);
        Assert.Null(ContainerSpecBuilder.Build(Plan() with { CapAdd = ["CHOWN"] }).HostConfig!.Sysctls);
    }

    [Fact]
    public void The_root_filesystem_is_read_only_and_tmp_is_a_small_noexec_tmpfs()
    {
        var spec = Build();

        Assert.True(spec.HostConfig!.ReadonlyRootfs);
        var tmpfs = Assert.Single(spec.HostConfig!.Tmpfs!);
        Assert.Equal("/tmp", tmpfs.Key);
        Assert.Equal(["rw", "noexec", "nosuid", "nodev", $"size={16 * 1024 * 1024}", "mode=1777"], tmpfs.Value.Split(','));
        Assert.Equal(16L * 1024 * 1024, spec.HostConfig!.ShmSize);
    }

    [Fact]
    public void Memory_cpu_and_pids_are_limited_and_there_is_no_swap()
    {
        var host = Build().HostConfig!;

        Assert.Equal(256L * 1024 * 1024, host.Memory);
        Assert.Equal(host.Memory, host.MemorySwap);
        Assert.Equal(500_000_000, host.NanoCPUs);
        Assert.Equal(128, host.PidsLimit);
    }

    [Fact]
    public void Namespaces_are_private_and_nothing_is_shared_with_the_host()
    {
        var host = Build().HostConfig!;

        Assert.Equal("nanobox", host.NetworkMode);
        Assert.Equal("", host.PidMode);
        Assert.Equal("private", host.IpcMode);
        Assert.Equal("", host.UTSMode);
        Assert.Equal("", host.UsernsMode);
        Assert.Equal("private", host.CgroupnsMode);
        Assert.Null(host.Devices);
        Assert.Null(host.VolumesFrom);
        Assert.Null(host.Binds);
    }

    [Fact]
    public void Without_a_network_the_container_has_none_at_all()
    {
        var spec = ContainerSpecBuilder.Build(Plan() with { Network = null });

        Assert.Equal("none", spec.HostConfig!.NetworkMode);
        Assert.Null(spec.NetworkingConfig);
    }

    [Fact]
    public void Only_the_planned_dirs_are_mounted_read_write_and_no_port_is_published()
    {
        var spec = Build();

        Assert.Collection(
            spec.HostConfig!.Mounts!,
            m => AssertBind(m, "/app/cache", "/var/lib/nanobox/apps/shop/web.main/2/cache"),
            m => AssertBind(m, "/app/uploads", "/var/lib/nanobox/apps/shop/web.main/uploads"));
        Assert.Null(spec.HostConfig!.PortBindings);
        Assert.False(spec.HostConfig!.PublishAllPorts);
        Assert.Equal(["8080/tcp"], spec.ExposedPorts!.Keys);

        static void AssertBind(Mount mount, string target, string source)
        {
            Assert.Equal("bind", mount.Type);
            Assert.Equal(target, mount.Target);
            Assert.Equal(source, mount.Source);
            Assert.False(mount.ReadOnly);
        }
    }

    [Fact]
    public void The_engine_never_restarts_it_and_an_init_reaps_and_forwards_signals()
    {
        var host = Build().HostConfig!;

        Assert.Equal(RestartPolicyKind.No, host.RestartPolicy!.Name);
        Assert.True(host.Init);
        Assert.False(host.AutoRemove);
        Assert.Equal("json-file", host.LogConfig!.Type);
        Assert.Equal("10m", host.LogConfig.Config!["max-size"]);
    }

    [Fact]
    public void Name_hostname_and_labels_identify_the_instance_as_ours()
    {
        var spec = Build();

        Assert.Equal("nanobox.shop.web.main.2", spec.Name);
        Assert.Equal("web-main-2", spec.Hostname);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["io.nanobox.managed"] = "true",
                ["io.nanobox.node"] = NodeId,
                ["io.nanobox.app"] = "shop",
                ["io.nanobox.component"] = "web.main",
                ["io.nanobox.instance"] = "2",
                ["io.nanobox.fingerprint"] = "v7:3f2a",
                ["team"] = "checkout",
            },
            spec.Labels);
    }

    [Fact]
    public void Image_command_and_environment_are_passed_as_planned()
    {
        var spec = Build();

        Assert.Equal(ImageId, spec.Image);
        Assert.Equal(["/bin/server", "--port", "8080"], spec.Cmd);
        Assert.Equal(["A_FIRST=x=y", "MODE=prod"], spec.Env);
        Assert.Null(ContainerSpecBuilder.Build(Plan() with { Command = null }).Cmd);
    }

    [Fact]
    public void The_network_endpoint_carries_the_planned_address_and_mac()
    {
        var endpoint = Assert.Single(Build().NetworkingConfig!.EndpointsConfig!);

        Assert.Equal("nanobox", endpoint.Key);
        Assert.Equal("10.210.1.5", endpoint.Value.IPAMConfig!.IPv4Address);
        Assert.Equal("02:6e:62:0a:01:05", endpoint.Value.MacAddress);
    }

    [Theory]
    [InlineData("0:1000")]
    [InlineData("1000:0")]
    [InlineData("0:0")]
    public void Root_is_refused(string user)
    {
        var refusal = Refused(Plan() with { User = user });

        Assert.Contains("root", Assert.Single(refusal.Problems));
    }

    [Theory]
    [InlineData("app")]
    [InlineData("1000")]
    [InlineData("app:app")]
    [InlineData("-1:1000")]
    public void A_user_that_is_not_numeric_uid_gid_is_refused(string user) =>
        Assert.Contains("numeric uid:gid", Assert.Single(Refused(Plan() with { User = user }).Problems));

    [Theory]
    [InlineData("io.nanobox.managed")]
    [InlineData("io.nanobox.node")]
    [InlineData("IO.Nanobox.anything")]
    [InlineData("")]
    public void Labels_in_our_namespace_are_refused(string key)
    {
        var refusal = Refused(Plan() with { Labels = new Dictionary<string, string> { [key] = "x" } });

        Assert.Contains("io.nanobox.* is reserved", Assert.Single(refusal.Problems));
    }

    [Theory]
    [InlineData("-shop", "web.main")]
    [InlineData("shop/x", "web.main")]
    [InlineData("shop", "web main")]
    [InlineData("shop", "")]
    [InlineData("", "web.main")]
    public void Names_docker_cannot_take_are_refused(string app, string component) =>
        Assert.NotEmpty(Refused(Plan() with { App = app, Component = component }).Problems);

    [Theory]
    [InlineData("nginx:latest")]
    [InlineData("nginx")]
    [InlineData("sha256:abc")]
    [InlineData("nginx@sha256:0123")]
    public void An_image_that_is_not_pinned_is_refused(string image) =>
        Assert.Contains("not pinned", Assert.Single(Refused(Plan() with { Image = image }).Problems));

    [Fact]
    public void A_repository_digest_is_a_pin()
    {
        var image = "registry.example:5000/shop/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

        Assert.Equal(image, ContainerSpecBuilder.Build(Plan() with { Image = image }).Image);
    }

    [Theory]
    [InlineData("/var/run/docker.sock")]
    [InlineData("/run/docker.sock")]
    [InlineData("/var/run")]
    [InlineData("/var")]
    [InlineData("/var/lib/docker/volumes/x")]
    [InlineData("/")]
    [InlineData("/etc")]
    [InlineData("/proc/1/root")]
    [InlineData("relative/dir")]
    [InlineData("/var/lib/nanobox/../../etc")]
    [InlineData("/var/lib/nanobox/x/")]
    public void Host_paths_outside_the_agents_dirs_are_refused(string hostPath)
    {
        var refusal = Refused(Plan() with { WritableDirectories = new Dictionary<string, string> { ["/data"] = hostPath } });

        Assert.Contains("not allowed", Assert.Single(refusal.Problems));
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/tmp")]
    [InlineData("/tmp/x")]
    [InlineData("/proc")]
    [InlineData("/sys/fs")]
    [InlineData("/dev/shm")]
    [InlineData("data")]
    [InlineData("/data/../etc")]
    public void Container_paths_the_runtime_owns_are_refused(string containerPath) =>
        Assert.NotEmpty(Refused(Plan() with { NetworkDirectories = new Dictionary<string, string> { [containerPath] = "/srv/x" } }).Problems);

    [Fact]
    public void A_container_path_mounted_twice_is_refused()
    {
        var refusal = Refused(Plan() with { NetworkDirectories = new Dictionary<string, string> { ["/app/cache"] = "/srv/shared" } });

        Assert.Contains("mounted twice", Assert.Single(refusal.Problems));
    }

    [Theory]
    [InlineData("ALL")]
    [InlineData("cap_all")]
    [InlineData("NOT_A_CAP")]
    public void Unknown_capabilities_and_all_of_them_are_refused(string cap) =>
        Assert.Single(Refused(Plan() with { CapAdd = [cap] }).Problems);

    [Theory]
    [InlineData("host")]
    [InlineData("none")]
    [InlineData("bridge")]
    [InlineData("container:abc")]
    public void Host_and_shared_network_modes_are_refused(string network) =>
        Assert.Contains("not allowed", Assert.Single(Refused(Plan() with { Network = Plan().Network! with { Network = network } }).Problems));

    [Fact]
    public void A_multicast_mac_or_a_non_unicast_address_is_refused()
    {
        var refusal = Refused(Plan() with { Network = Plan().Network! with { MacAddress = PhysicalAddress.Parse("01-00-5E-00-00-01"), IPv4Address = IPAddress.Parse("224.0.0.1") } });

        Assert.Equal(2, refusal.Problems.Count);
    }

    [Fact]
    public void Missing_limits_are_refused_and_every_problem_is_named_at_once()
    {
        var refusal = Refused(Plan() with { MemoryBytes = 0, NanoCpus = 0, PidsLimit = 0, User = "0:0", Fingerprint = "" });

        Assert.Equal(6, refusal.Problems.Count); // memory, cpu, pids, /tmp above memory, root, fingerprint
        Assert.Contains("nanobox.shop.web.main.2", refusal.Message);
    }

    [Fact]
    public void Tmp_larger_than_the_memory_limit_is_refused() =>
        Assert.Contains("/tmp size", Assert.Single(Refused(Plan() with { TmpSizeBytes = 512L * 1024 * 1024 }).Problems));

    [Fact]
    public void Environment_names_with_equals_are_refused() =>
        Assert.Single(Refused(Plan() with { Environment = new Dictionary<string, string> { ["A=B"] = "c" } }).Problems);
}
