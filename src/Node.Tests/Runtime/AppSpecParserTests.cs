using Nanobox.Node.Runtime.Spec;
using static Nanobox.Node.Tests.Runtime.SpecTestData;

namespace Nanobox.Node.Tests.Runtime;

public sealed class AppSpecParserTests
{
    [Fact]
    public void The_full_example_reads_into_the_model_with_sets_sorted()
    {
        var spec = Valid(Shop);

        Assert.Equal("shop", spec.App);
        Assert.Equal(["web.main", "worker.jobs"], spec.Components.Keys);
        var web = spec.Components["web.main"];
        Assert.Equal((ComponentKind.Web, "main", "web.main"), (web.Kind, web.Name, web.Id));
        Assert.Equal("nanobox-lab/busybox:latest", web.Image);
        Assert.Equal<string>(["httpd", "-f", "-p", "8080"], web.Command);
        Assert.Equal(
            [new("DEBUG", "yes"), new("GREETING", "hello"), new("MODE", "0755"), new KeyValuePair<string, string>("PORT", "8080")],
            web.Env);
        Assert.Equal(["53/udp", "8080/tcp"], web.Ports.Select(static p => p.ToString()));
        Assert.Equal(2, web.Replicas);
        Assert.Equal("front", web.Labels["tier"]);
        Assert.Equal(["node.label.zone == a", "node.name != h1"], web.Constraints.Select(static c => c.ToString()));
        Assert.Equal(new ResourceLimits(128L << 20, 500, 256), web.Resources);
        Assert.Equal<string>(["/app/tmp", "/var/cache/app"], web.WritableDirs);
        Assert.Equal<string>(["/app/uploads"], web.NetworkDirs);
        Assert.Equal(new ContainerUser(1000, 1000), web.User);
        Assert.Equal<string>(["NET_BIND_SERVICE"], web.CapAdd);
        Assert.Equal(TimeSpan.FromMinutes(5), web.RestartBackoffMax);

        var jobs = spec.Components["worker.jobs"];
        Assert.Equal<string>(["/bin/sh", "-c", "while true; do sleep 1; done"], jobs.Command);
    }

    [Fact]
    public void Omitted_keys_take_their_locked_down_defaults()
    {
        var c = ValidWebMain("");

        Assert.Empty(c.Command);
        Assert.Empty(c.Env);
        Assert.Empty(c.Ports);
        Assert.Equal(1, c.Replicas);
        Assert.Empty(c.Labels);
        Assert.Empty(c.Constraints);
        Assert.Equal(new ResourceLimits(256L << 20, 1000, 512), c.Resources);
        Assert.Empty(c.WritableDirs);
        Assert.Empty(c.NetworkDirs);
        Assert.Equal(new ContainerUser(1000, 1000), c.User);
        Assert.Empty(c.CapAdd);
        Assert.Null(c.RestartBackoffMax);
        Assert.Equal(ResourceLimits.Default with { Pids = 100 }, ValidWebMain("resources: { pids: 100 }").Resources);
    }

    [Fact]
    public void An_error_names_line_key_problem_and_fix()
    {
        var errors = Errors(WebMain("env: { A: b }\nports: [80]\nreplicas: 0"));

        Assert.Equal(["line 6: web.main.replicas: 0 is out of range; give 1 to 64"], errors);
        var error = Assert.Single(AppSpecParser.Parse(WebMain("replicas: 0"), AppSpecPolicy.Default).Errors);
        Assert.Equal(new AppSpecError("web.main.replicas", 4, 13, "0 is out of range", "give 1 to 64"), error);
    }

    [Fact]
    public void Every_error_is_reported_at_once_in_source_order()
    {
        var errors = Errors("""
            app: Shop
            web.main:
              imgae: busybox
              replicas: many
              resources: { memory: 1.5G }
            worker.jobs:
              image: busybox
              user: 0
              writable_dirs: [app/tmp]
            """);

        Assert.Equal(
        [
            "line 1: app: Shop is not a valid name; use [a-z][a-z0-9-]{0,30}: a lower-case letter, then up to 30 lower-case letters, digits or -",
            "line 2: web.main.image: is missing; add image: IMAGE, e.g. image: busybox:1.36",
            "line 3: web.main.imgae: is not a known key; did you mean image?",
            "line 4: web.main.replicas: many is not a whole number; give a whole number from 1 to 64",
            "line 5: web.main.resources.memory: 1.5G is not a memory size; give a whole number with K, M or G, e.g. 256M",
            "line 8: worker.jobs.user: uid 0 is below 1000, the lowest the cluster's policy allows; run as 1000 or above (an image that needs root or a system account must be rebuilt)",
            "line 9: worker.jobs.writable_dirs[0]: app/tmp is not an absolute path; give a path starting with /, e.g. /app/tmp",
        ],
            errors);
    }

    [Theory]
    [InlineData("imgae: x", "web.main.imgae: is not a known key; did you mean image?")]
    [InlineData("writable_dir: [/a]", "web.main.writable_dir: is not a known key; did you mean writable_dirs?")]
    [InlineData("replica: 2", "web.main.replica: is not a known key; did you mean replicas?")]
    [InlineData("resources: { memroy: 1G }", "web.main.resources.memroy: is not a known key; did you mean memory?")]
    [InlineData("capabilities: []", "web.main.capabilities: is not a known key; remove it; known keys here: image, command, env, ports, replicas, labels, constraints, resources, writable_dirs, network_dirs, user, cap_add, restart_backoff_max")]
    public void Unknown_keys_suggest_the_closest_known_one(string settings, string expected) =>
        Assert.Equal($"line 4: {expected}", Assert.Single(Errors(WebMain(settings))));

    [Theory]
    [InlineData("ap: shop", "ap: is not a known key; did you mean app?")]
    [InlineData("wbe.main: { image: b }", "wbe.main: wbe is not a component kind; did you mean web.main? kinds are web, worker, data")]
    [InlineData("job.main: { image: b }", "job.main: job is not a component kind; kinds are web, worker, data")]
    [InlineData("web: { image: b }", "web: is a kind without a component name; name the component: web.NAME, e.g. web.main")]
    [InlineData("web.Main: { image: b }", "web.Main: the component name Main is not valid; use [a-z][a-z0-9-]{0,30}: a lower-case letter, then up to 30 lower-case letters, digits or -")]
    [InlineData("services: {}", "services: is not a known key; top-level keys are app and components named KIND.NAME (kinds: web, worker, data), e.g. web.main")]
    public void Top_level_keys_are_app_and_kind_dot_name(string line, string expected) =>
        Assert.Equal($"line 4: {expected}", Assert.Single(Errors(WebMain("") + line)));

    [Theory]
    [InlineData("replicas: \"2\"", "web.main.replicas: \"2\" is quoted, so it is text; write the number without quotes")]
    [InlineData("replicas: [1]", "web.main.replicas: is a list; give a whole number from 1 to 64")]
    [InlineData("replicas:", "web.main.replicas: has no value; give a whole number from 1 to 64")]
    [InlineData("replicas: 65", "web.main.replicas: 65 is out of range; give 1 to 64")]
    [InlineData("replicas: 99999999999999999999", "web.main.replicas: 99999999999999999999 is not a whole number; give a whole number from 1 to 64")]
    [InlineData("env: [A=b]", "web.main.env: is a list; give a mapping of variables, e.g. { GREETING: hello }")]
    [InlineData("ports: 8080", "web.main.ports: 8080 is a single value; give a list of ports, e.g. [8080/tcp, 53/udp]")]
    [InlineData("ports:", "web.main.ports: has no value; give a list of ports, e.g. [8080/tcp, 53/udp]")]
    [InlineData("ports: []", "web.main.ports: is an empty list; give a list of ports, e.g. [8080/tcp, 53/udp], or remove the key")]
    [InlineData("resources: 1G", "web.main.resources: 1G is a single value; give a mapping, e.g. { memory: 128M, cpus: 0.5, pids: 256 }")]
    [InlineData("resources: { cpus: \"0.5\" }", "web.main.resources.cpus: \"0.5\" is quoted, so it is text; write the number without quotes")]
    [InlineData("command: { run: x }", "web.main.command: is a mapping; give a list of arguments, e.g. [\"httpd\", \"-f\"], or one string for /bin/sh -c")]
    [InlineData("command: \" \"", "web.main.command: is an empty command; give a command, or remove the key to run the image's own")]
    [InlineData("command: [a, ~]", "web.main.command[1]: has no value; give an argument, or \"\" for an empty one")]
    public void Wrong_types_are_refused(string settings, string expected) =>
        Assert.Equal($"line 4: {expected}", Assert.Single(Errors(WebMain(settings))));

    [Fact]
    public void Command_arguments_keep_their_text_and_may_repeat()
    {
        Assert.Equal<string>(["sleep", "10", "", "10"], ValidWebMain("command: [sleep, 10, \"\", 10]").Command);
        Assert.Equal<string>(["/bin/sh", "-c", "echo a\necho b\n"], ValidWebMain("command: |\n  echo a\n  echo b").Command);
    }

    [Fact]
    public void Env_and_label_values_are_kept_as_written()
    {
        var c = ValidWebMain("env: { A: yes, B: 0x1F, C: 1.50, D: \"\", E: '~', F: off }\nlabels: { a.b: \"1\", c_d-e: x }");

        Assert.Equal(["yes", "0x1F", "1.50", "", "~", "off"], c.Env.Values);
        Assert.Equal(["a.b", "c_d-e"], c.Labels.Keys);
    }

    [Theory]
    [InlineData("env: { 1A: x }", "web.main.env.1A: 1A is not a valid variable name; use letters, digits and _, not starting with a digit")]
    [InlineData("env: { A-B: x }", "web.main.env.A-B: A-B is not a valid variable name; use letters, digits and _, not starting with a digit")]
    [InlineData("env: { A: }", "web.main.env.A: has no value; give a value, or \"\" for an empty one")]
    [InlineData("env: { A: [1] }", "web.main.env.A: is a list; give a value, or \"\" for an empty one")]
    [InlineData("labels: { Tier: x }", "web.main.labels.Tier: Tier is not a valid label key; use 1 to 128 of a-z 0-9 . _ -")]
    [InlineData("labels: { nanobox.app: x }", "web.main.labels.nanobox.app: nanobox.app starts with nanobox., which the agent keeps for its own labels; choose another key")]
    public void Env_and_label_keys_are_checked(string settings, string expected) =>
        Assert.Equal($"line 4: {expected}", Assert.Single(Errors(WebMain(settings))));

    [Theory]
    [InlineData("busybox")]
    [InlineData("busybox:1.36")]
    [InlineData("nanobox-lab/busybox:latest")]
    [InlineData("registry.example.com:5000/team/app_x__y:1.0-rc.1")]
    [InlineData("localhost/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("app:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    public void Image_references_follow_dockers_grammar(string image) =>
        Assert.Equal(image, Valid($"app: a\nweb.main: {{ image: \"{image}\" }}").Components["web.main"].Image);

    [Theory]
    [InlineData("Busybox")]
    [InlineData("busybox:")]
    [InlineData("busy box")]
    [InlineData("app@sha256:123")]
    [InlineData("-app")]
    public void Bad_image_references_are_refused(string image) =>
        Assert.Equal(
            $"line 2: web.main.image: {image} is not a valid image reference; give [registry/]name[:tag][@sha256:digest] with a lower-case name, e.g. nanobox-lab/busybox:latest",
            Assert.Single(Errors($"app: a\nweb.main: {{ image: \"{image}\" }}")));

    [Fact]
    public void Ports_default_to_tcp_and_normalise_the_protocol()
    {
        Assert.Equal(["53/udp", "80/tcp", "80/udp"], ValidWebMain("ports: [80, 53/UDP, 80/udp]").Ports.Select(static p => p.ToString()));
    }

    [Theory]
    [InlineData("ports: [0]", "web.main.ports[0]: port 0 is out of range; give 1 to 65535")]
    [InlineData("ports: [65536/tcp]", "web.main.ports[0]: port 65536 is out of range; give 1 to 65535")]
    [InlineData("ports: [80/sctp]", "web.main.ports[0]: the protocol sctp is not supported; give tcp or udp")]
    [InlineData("ports: [http]", "web.main.ports[0]: http is not a port; give NUMBER, NUMBER/tcp or NUMBER/udp, e.g. 8080/tcp")]
    [InlineData("ports: [\"80-90/tcp\"]", "web.main.ports[0]: 80-90/tcp is not a port; give NUMBER, NUMBER/tcp or NUMBER/udp, e.g. 8080/tcp")]
    [InlineData("ports: [8080, 8080/tcp]", "web.main.ports[1]: 8080/tcp is listed twice (first on line 4); list it once")]
    public void Bad_ports_are_refused(string settings, string expected) =>
        Assert.Equal($"line 4: {expected}", Assert.Single(Errors(WebMain(settings))));

    [Theory]
    [InlineData("6M", 6L << 20)]
    [InlineData("128M", 128L << 20)]
    [InlineData("128m", 128L << 20)]
    [InlineData("2G", 2L << 30)]
    [InlineData("10240K", 10L << 20)]
    [InlineData("1024G", 1L << 40)]
    [InlineData("7340032", 7L << 20)]
    public void Memory_takes_K_M_G_in_powers_of_1024(string text, long bytes) =>
        Assert.Equal(bytes, ValidWebMain($"resources: {{ memory: {text} }}").Resources.MemoryBytes);

    [Theory]
    [InlineData("5M", "5M is below the minimum of 6M; give 6M or more, e.g. 256M")]
    [InlineData("512", "512 is below the minimum of 6M (a number without a unit is bytes); give 6M or more, e.g. 256M")]
    [InlineData("1025G", "1025G is above the maximum of 1024G; give 1024G or less")]
    [InlineData("9999999999999G", "9999999999999G is above the maximum of 1024G; give 1024G or less")]
    [InlineData("1.5G", "1.5G is not a memory size; give a whole number with K, M or G, e.g. 256M")]
    [InlineData("128MB", "128MB is not a memory size; give a whole number with K, M or G, e.g. 256M")]
    [InlineData("-1M", "-1M is not a memory size; give a whole number with K, M or G, e.g. 256M")]
    public void Bad_memory_sizes_are_refused(string text, string expected) =>
        Assert.Equal($"line 4: web.main.resources.memory: {expected}", Assert.Single(Errors(WebMain($"resources: {{ memory: {text} }}"))));

    [Theory]
    [InlineData("0.5", 500)]
    [InlineData("2", 2000)]
    [InlineData(".25", 250)]
    [InlineData("0.01", 10)]
    [InlineData("1.500", 1500)]
    [InlineData("256", 256_000)]
    public void Cpus_are_decimal_down_to_a_thousandth(string text, int milli) =>
        Assert.Equal(milli, ValidWebMain($"resources: {{ cpus: {text} }}").Resources.MilliCpus);

    [Theory]
    [InlineData("0.005", "0.005 CPUs is out of range; give 0.01 to 256")]
    [InlineData("0", "0 CPUs is out of range; give 0.01 to 256")]
    [InlineData("257", "257 CPUs is out of range; give 0.01 to 256")]
    [InlineData("0.0001", "0.0001 is not a number of CPUs; give a decimal number with at most 3 decimals, e.g. 0.5 or 2")]
    [InlineData("1e3", "1e3 is not a number of CPUs; give a decimal number with at most 3 decimals, e.g. 0.5 or 2")]
    [InlineData("half", "half is not a number of CPUs; give a decimal number with at most 3 decimals, e.g. 0.5 or 2")]
    public void Bad_cpus_are_refused(string text, string expected) =>
        Assert.Equal($"line 4: web.main.resources.cpus: {expected}", Assert.Single(Errors(WebMain($"resources: {{ cpus: {text} }}"))));

    [Fact]
    public void Pids_have_a_range()
    {
        Assert.Equal("line 4: web.main.resources.pids: 8 is out of range; give 16 to 65536", Assert.Single(Errors(WebMain("resources: { pids: 8 }"))));
    }

    [Fact]
    public void Dirs_are_sorted_and_may_sit_side_by_side()
    {
        var c = ValidWebMain("writable_dirs: [/var/cache/app, /app/tmp, /app/tmp2]\nnetwork_dirs: [/data, /app/uploads]");

        Assert.Equal<string>(["/app/tmp", "/app/tmp2", "/var/cache/app"], c.WritableDirs);
        Assert.Equal<string>(["/app/uploads", "/data"], c.NetworkDirs);
    }

    [Theory]
    [InlineData("app/tmp", "app/tmp is not an absolute path; give a path starting with /, e.g. /app/tmp")]
    [InlineData("./app", "./app is not an absolute path; give a path starting with /, e.g. /app")]
    [InlineData("/", "/ is the whole filesystem; give a directory under it, e.g. /app/data")]
    [InlineData("//", "// is the whole filesystem; give a directory under it, e.g. /app/data")]
    [InlineData("/app/../etc", "/app/../etc contains ..; give the directory's real path, without ..")]
    [InlineData("/app//tmp", "/app//tmp is not in normal form; write it as /app/tmp")]
    [InlineData("/app/tmp/", "/app/tmp/ is not in normal form; write it as /app/tmp")]
    [InlineData("/app/./tmp", "/app/./tmp is not in normal form; write it as /app/tmp")]
    [InlineData("/proc", "/proc is under /proc, which the kernel provides; choose a directory outside /proc, /sys and /dev")]
    [InlineData("/sys/fs/cgroup", "/sys/fs/cgroup is under /sys, which the kernel provides; choose a directory outside /proc, /sys and /dev")]
    [InlineData("/dev/shm", "/dev/shm is under /dev, which the kernel provides; choose a directory outside /proc, /sys and /dev")]
    [InlineData("/tmp/cache", "/tmp/cache is under /tmp, which is already a writable tmpfs; choose a directory outside /tmp")]
    [InlineData("/app:rw", "/app:rw contains characters other than letters, digits and . _ - @ + /; rename the directory with those characters only")]
    [InlineData("/my dir", "/my dir contains characters other than letters, digits and . _ - @ + /; rename the directory with those characters only")]
    public void Bad_dirs_are_refused(string dir, string expected)
    {
        Assert.Equal($"line 4: web.main.writable_dirs[0]: {expected}", Assert.Single(Errors(WebMain($"writable_dirs: [\"{dir}\"]"))));
        Assert.Equal($"line 4: web.main.network_dirs[0]: {expected}", Assert.Single(Errors(WebMain($"network_dirs: [\"{dir}\"]"))));
    }

    [Fact]
    public void Dirs_must_not_overlap_or_repeat()
    {
        Assert.Equal(
            ["line 5: web.main.network_dirs[0]: /app/data is both a writable dir and a network dir; keep it in one list"],
            Errors(WebMain("writable_dirs: [/app/data]\nnetwork_dirs: [/app/data]")));
        Assert.Equal(
            ["line 4: web.main.writable_dirs[1]: /app/data/tmp is inside /app/data (network_dirs, line 5); keep one of them: a directory mounted inside another splits what each holds"],
            Errors(WebMain("writable_dirs: [/srv, /app/data/tmp]\nnetwork_dirs: [/app/data]")));
        Assert.Equal(
            ["line 4: web.main.writable_dirs[1]: /app/x is inside /app (writable_dirs, line 4); keep one of them: a directory mounted inside another splits what each holds"],
            Errors(WebMain("writable_dirs: [/app, /app/x, /application]")));
        Assert.Equal(
            ["line 4: web.main.writable_dirs[1]: /a is listed twice (first on line 4); list it once"],
            Errors(WebMain("writable_dirs: [/a, /a]")));
        Assert.Equal(
            ["line 4: web.main.writable_dirs: has 33 items; give at most 32"],
            Errors(WebMain($"writable_dirs: [{string.Join(", ", Enumerable.Range(0, 33).Select(static i => $"/d{i}"))}]")));
    }

    [Theory]
    [InlineData("user: 1000", 1000, 1000)]
    [InlineData("user: 1500:2000", 1500, 2000)]
    [InlineData("user: \"4000\"", 4000, 4000)]
    [InlineData("user: 2147483647:1000", int.MaxValue, 1000)]
    public void Users_are_numeric_and_the_group_defaults_to_the_uid(string settings, int uid, int gid) =>
        Assert.Equal(new ContainerUser(uid, gid), ValidWebMain(settings).User);

    [Theory]
    [InlineData("user: 0", "uid 0 is below 1000, the lowest the cluster's policy allows; run as 1000 or above (an image that needs root or a system account must be rebuilt)")]
    [InlineData("user: 999:1000", "uid 999 is below 1000, the lowest the cluster's policy allows; run as 1000 or above (an image that needs root or a system account must be rebuilt)")]
    [InlineData("user: 1000:0", "gid 0 is below 1000, the lowest the cluster's policy allows; run as 1000 or above (an image that needs root or a system account must be rebuilt)")]
    [InlineData("user: 4294967295", "uid 4294967295 is out of range; give 1000 to 2147483647")]
    [InlineData("user: root", "root is not a numeric user; give uid or uid:gid, e.g. 1000 or 1000:1000 (user names depend on the image's /etc/passwd)")]
    [InlineData("user: 1000:1000:1", "1000:1000:1 is not a numeric user; give uid or uid:gid, e.g. 1000 or 1000:1000 (user names depend on the image's /etc/passwd)")]
    public void Users_below_the_policy_or_by_name_are_refused(string settings, string expected) =>
        Assert.Equal($"line 4: web.main.user: {expected}", Assert.Single(Errors(WebMain(settings))));

    [Fact]
    public void The_policy_can_allow_low_ids()
    {
        var policy = AppSpecPolicy.Default with { MinimumUid = 0 };

        Assert.Equal(new ContainerUser(0, 0), ValidWebMain("user: 0", policy).User);
        Assert.Equal("line 4: web.main.user: uid 99 is below 100, the lowest the cluster's policy allows; run as 100 or above (an image that needs root or a system account must be rebuilt)",
            Assert.Single(Errors(WebMain("user: 99"), policy with { MinimumUid = 100 })));
    }

    [Fact]
    public void Capabilities_are_known_names_with_or_without_the_prefix()
    {
        Assert.Equal<string>(["NET_BIND_SERVICE"], ValidWebMain("cap_add: [net_bind_service]").CapAdd);
        Assert.Equal<string>(["NET_BIND_SERVICE"], ValidWebMain("cap_add: [CAP_Net_Bind_Service]").CapAdd);
    }

    [Theory]
    [InlineData("cap_add: [NET_BIND_SERVIC]", "web.main.cap_add[0]: NET_BIND_SERVIC is not a Linux capability; did you mean NET_BIND_SERVICE?")]
    [InlineData("cap_add: [ROOT]", "web.main.cap_add[0]: ROOT is not a Linux capability; give a name from capabilities(7), e.g. NET_BIND_SERVICE")]
    [InlineData("cap_add: [SYS_ADMIN]", "web.main.cap_add[0]: SYS_ADMIN is refused by the cluster's policy: it lets a process reach past its container; remove it; run what needs it outside the cluster's apps")]
    [InlineData("cap_add: [cap_sys_ptrace]", "web.main.cap_add[0]: SYS_PTRACE is refused by the cluster's policy: it lets a process reach past its container; remove it; run what needs it outside the cluster's apps")]
    [InlineData("cap_add: [NET_BIND_SERVICE, CAP_NET_BIND_SERVICE]", "web.main.cap_add[1]: NET_BIND_SERVICE is listed twice (first on line 4); list it once")]
    [InlineData("cap_add: [CHOWN]", "web.main.cap_add[0]: CHOWN would have no effect: components run as a non-root user, and Docker gives such a process no effective capabilities (it sets no ambient ones); remove it; only NET_BIND_SERVICE is supported (the agent grants it through the container's own net.ipv4.ip_unprivileged_port_start)")]
    [InlineData("cap_add: [cap_net_raw]", "web.main.cap_add[0]: NET_RAW would have no effect: components run as a non-root user, and Docker gives such a process no effective capabilities (it sets no ambient ones); remove it; only NET_BIND_SERVICE is supported (the agent grants it through the container's own net.ipv4.ip_unprivileged_port_start)")]
    public void Unknown_denied_and_repeated_capabilities_are_refused(string settings, string expected) =>
        Assert.Equal($"line 4: {expected}", Assert.Single(Errors(WebMain(settings))));

    [Fact]
    public void The_policy_decides_which_known_capabilities_are_denied()
    {
        var open = AppSpecPolicy.Default with { DeniedCapabilities = [] };

        Assert.Contains("SYS_ADMIN would have no effect", Assert.Single(Errors(WebMain("cap_add: [SYS_ADMIN]"), open)));
        Assert.Throws<ArgumentException>(() => AppSpecParser.Parse(WebMain(""), open with { DeniedCapabilities = ["ROOT"] }));
        Assert.Throws<ArgumentException>(() => AppSpecParser.Parse(WebMain(""), open with { MinimumUid = -1 }));
        Assert.Throws<ArgumentException>(() => AppSpecParser.Parse(WebMain(""), open with { MaxBytes = 10 }));
    }

    [Fact]
    public void Constraints_parse_into_attribute_operator_value()
    {
        var c = ValidWebMain("constraints: [\"node.id==n1\", \"  node.label.disk.type != hdd \", \"node.name == h2\"]");

        Assert.Equal<PlacementConstraint>(
            [
                new PlacementConstraint("node.id", ConstraintOperator.Equal, "n1"),
                new PlacementConstraint("node.label.disk.type", ConstraintOperator.NotEqual, "hdd"),
                new PlacementConstraint("node.name", ConstraintOperator.Equal, "h2"),
            ],
            c.Constraints);
    }

    [Theory]
    [InlineData("node.zone == a")]
    [InlineData("node.name = h1")]
    [InlineData("node.label.zone == a b")]
    [InlineData("node.label. == a")]
    [InlineData("node.name ==")]
    public void Bad_constraints_are_refused(string constraint) =>
        Assert.Equal(
            $"line 4: web.main.constraints[0]: {constraint} is not a constraint; give node.id, node.name or node.label.KEY, then == or !=, then a value without spaces, e.g. node.label.zone == a",
            Assert.Single(Errors(WebMain($"constraints: [\"{constraint}\"]"))));

    [Fact]
    public void A_repeated_constraint_is_refused()
    {
        Assert.Equal(
            "line 6: web.main.constraints[1]: node.name != h1 is listed twice (first on line 5); list it once",
            Assert.Single(Errors(WebMain("constraints:\n  - node.name != h1\n  - node.name!=h1"))));
    }

    [Theory]
    [InlineData("30s", 30)]
    [InlineData("5m", 300)]
    [InlineData("1h", 3600)]
    [InlineData("1m30s", 90)]
    [InlineData("1s", 1)]
    public void Restart_backoff_takes_hours_minutes_seconds(string text, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), ValidWebMain($"restart_backoff_max: {text}").RestartBackoffMax);

    [Theory]
    [InlineData("0s", "0s is out of range; give 1s to 1h")]
    [InlineData("2h", "2h is out of range; give 1s to 1h")]
    [InlineData("300", "300 is not a duration; give hours, minutes and seconds such as 30s, 5m or 1h30m")]
    [InlineData("5min", "5min is not a duration; give hours, minutes and seconds such as 30s, 5m or 1h30m")]
    [InlineData("30s5m", "30s5m is not a duration; give hours, minutes and seconds such as 30s, 5m or 1h30m")]
    public void Bad_backoffs_are_refused(string text, string expected) =>
        Assert.Equal($"line 4: web.main.restart_backoff_max: {expected}", Assert.Single(Errors(WebMain($"restart_backoff_max: {text}"))));

    [Fact]
    public void The_app_needs_a_valid_name_and_components()
    {
        Assert.Equal(["line 1: app: is missing; add app: NAME as the first line"], Errors("web.main: { image: b }"));
        Assert.Equal(["line 1: the app has no components; add one, e.g. web.main: { image: busybox:1.36 }"], Errors("app: shop"));
        Assert.Equal(["line 1: app: has no value; give the app's name"], Errors("app:\nweb.main: { image: b }"));
        Assert.Equal(["line 1: app: a-very-long-name-of-more-than-31-chars is not a valid name; use [a-z][a-z0-9-]{0,30}: a lower-case letter, then up to 30 lower-case letters, digits or -"],
            Errors("app: a-very-long-name-of-more-than-31-chars\nweb.main: { image: b }"));
        Assert.Equal(["line 2: web.main: has no value; give the component's settings, at least image: IMAGE"], Errors("app: shop\nweb.main:"));
        var many = "app: big\n" + string.Join("\n", Enumerable.Range(0, 65).Select(static i => $"worker.w{i}: {{ image: b }}"));
        Assert.Equal(["line 1: the app has 65 components; give at most 64; split it into several apps"], Errors(many));
        Assert.Equal(64, Valid(string.Join("\n", many.Split('\n').SkipLast(1))).Components.Count);
    }

    [Fact]
    public void Kinds_web_worker_and_data_all_read()
    {
        var spec = Valid("app: a\nweb.w: { image: b }\nworker.w: { image: b }\ndata.w: { image: b }");

        Assert.Equal([ComponentKind.Data, ComponentKind.Web, ComponentKind.Worker], spec.Components.Values.Select(static c => c.Kind));
    }
}
