using System.Net;
using Microsoft.Extensions.Logging;
using Nanobox.Node.Host;

namespace Nanobox.Node.Tests.Unit;

public sealed class AgentOptionsResolverTests
{
    private static AgentOptions Resolve(AgentArguments args, Dictionary<string, string>? env = null, Dictionary<string, string>? files = null) =>
        AgentOptionsResolver.Resolve(
            args,
            name => env is not null && env.TryGetValue(name, out var value) ? value : null,
            path => files is not null && files.TryGetValue(path, out var text) ? text : null,
            "host-a");

    [Fact]
    public void Defaults_apply_when_nothing_is_set()
    {
        var options = Resolve(new AgentArguments());

        Assert.Equal(AgentOptions.DefaultConfigPath, options.ConfigPath);
        Assert.Equal("/var/lib/nanobox", options.DataDir);
        Assert.Equal("/run/nanobox/admin.sock", options.SocketPath);
        Assert.Null(options.Advertise);
        Assert.Equal("host-a", options.Name);
        Assert.Equal(LogLevel.Information, options.LogLevel);
    }

    [Fact]
    public void Command_line_beats_environment_which_beats_config_file()
    {
        var files = new Dictionary<string, string>
        {
            ["/etc/nanobox/nanobox.toml"] = "[node]\nname = \"from-file\"\ndata_dir = \"/file\"\nadvertise = \"192.0.2.3\"\n[admin]\nsocket = \"/file.sock\"\n[log]\nlevel = \"error\"\n",
        };
        var env = new Dictionary<string, string> { ["NANOBOX_DATA_DIR"] = "/env", ["NANOBOX_NAME"] = "from-env" };

        var options = Resolve(new AgentArguments(Name: "from-cli"), env, files);

        Assert.Equal("from-cli", options.Name);
        Assert.Equal("/env", options.DataDir);
        Assert.Equal("/file.sock", options.SocketPath);
        Assert.Equal(IPAddress.Parse("192.0.2.3"), options.Advertise);
        Assert.Equal(LogLevel.Error, options.LogLevel);
    }

    [Fact]
    public void Config_path_can_come_from_the_environment()
    {
        var files = new Dictionary<string, string> { ["/custom.toml"] = "[node]\nname = \"custom\"\n" };
        var env = new Dictionary<string, string> { ["NANOBOX_CONFIG"] = "/custom.toml" };

        var options = Resolve(new AgentArguments(), env, files);

        Assert.Equal("custom", options.Name);
        Assert.Equal("/custom.toml", options.ConfigPath);
    }

    [Fact]
    public void Missing_default_config_file_is_fine_but_a_missing_explicit_one_is_an_error()
    {
        Resolve(new AgentArguments());

        var error = Assert.Throws<ConfigException>(() => Resolve(new AgentArguments(Config: "/nope.toml")));
        Assert.Contains("/nope.toml does not exist", error.Message);
    }

    [Theory]
    [InlineData("[node]\nnmae = \"x\"\n", "nmae")]
    [InlineData("[nodes]\nname = \"x\"\n", "nodes")]
    [InlineData("[node]\nname = 3\n", "(2,")]
    [InlineData("[node\nname = \"x\"\n", "(1,")]
    public void A_broken_config_file_is_refused_with_its_path_and_position(string text, string expected)
    {
        var files = new Dictionary<string, string> { ["/etc/nanobox/nanobox.toml"] = text };

        var error = Assert.Throws<ConfigException>(() => Resolve(new AgentArguments(), files: files));

        Assert.StartsWith("/etc/nanobox/nanobox.toml:", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("relative/dir", null, null, "not an absolute path")]
    [InlineData(null, null, "0.0.0.0", "cannot be reached")]
    [InlineData(null, null, "ff02::1", "cannot be reached")]
    [InlineData(null, null, "224.0.0.1", "cannot be reached")]
    [InlineData(null, null, "example.org", "not an IP address")]
    [InlineData(null, "bad name!", null, "not valid")]
    public void Bad_values_are_refused_with_the_fix(string? dataDir, string? name, string? advertise, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => Resolve(new AgentArguments(DataDir: dataDir, Name: name, Advertise: advertise)));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_socket_path_longer_than_sun_path_is_refused()
    {
        var error = Assert.Throws<ConfigException>(() => Resolve(new AgentArguments(Socket: "/" + new string('s', 120))));

        Assert.Contains("longer than the 107 bytes", error.Message);
    }

    private static Dictionary<string, string> Config(string toml) => new() { [AgentOptions.DefaultConfigPath] = toml };

    [Fact]
    public void Overlay_and_docker_settings_come_from_the_config_and_bad_ones_are_refused()
    {
        var defaults = Resolve(new AgentArguments());
        Assert.Equal("100.88.0.0/16", defaults.Overlay.Subnet);
        Assert.Equal("unix:///var/run/docker.sock", defaults.Docker.ToString());

        var configured = Resolve(new AgentArguments(), files: Config("[overlay]\nsubnet = \"10.200.0.0/16\"\nvni = 7\nport = 8472\n[docker]\nendpoint = \"unix:///run/d.sock\"\n"));
        Assert.Equal(("10.200.0.0/16", 7u, 8472), (configured.Overlay.Subnet, configured.Overlay.Vni, configured.Overlay.Port));
        Assert.Equal("/run/d.sock", configured.Docker.SocketPath);
        Assert.Equal("/flag.sock", Resolve(new AgentArguments(Docker: "unix:///flag.sock"), files: Config("[docker]\nendpoint = \"unix:///run/d.sock\"\n")).Docker.SocketPath);

        Assert.Contains("[overlay]", Assert.Throws<ConfigException>(() => Resolve(new AgentArguments(), files: Config("[overlay]\nsubnet = \"10.0.0.0/24\"\n"))).Message);
        Assert.Contains("VNI", Assert.Throws<ConfigException>(() => Resolve(new AgentArguments(), files: Config("[overlay]\nvni = -1\n"))).Message);
        Assert.Contains("unix:///PATH", Assert.Throws<ConfigException>(() => Resolve(new AgentArguments(Docker: "tcp://10.0.0.1:2375"))).Message);
    }

    [Fact]
    public void Unknown_log_level_is_refused()
    {
        Assert.Throws<ConfigException>(() => Resolve(new AgentArguments(LogLevel: "loud")));
        Assert.Equal(LogLevel.Debug, Resolve(new AgentArguments(LogLevel: "DEBUG")).LogLevel);
    }

    [Fact]
    public void The_cli_finds_the_socket_from_flag_environment_config_or_default()
    {
        string? NoEnv(string _) => null;
        var files = new Dictionary<string, string> { ["/etc/nanobox/nanobox.toml"] = "[admin]\nsocket = \"/cfg.sock\"\n" };

        Assert.Equal("/flag.sock", AgentOptionsResolver.ResolveSocket("/flag.sock", NoEnv, _ => null));
        Assert.Equal("/env.sock", AgentOptionsResolver.ResolveSocket(null, n => n == "NANOBOX_SOCKET" ? "/env.sock" : null, _ => null));
        Assert.Equal("/cfg.sock", AgentOptionsResolver.ResolveSocket(null, NoEnv, p => files.GetValueOrDefault(p)));
        Assert.Equal("/run/nanobox/admin.sock", AgentOptionsResolver.ResolveSocket(null, NoEnv, _ => "not toml ["));
    }
}

public sealed class AgentConfigFileTests
{
    [Fact]
    public void Known_keys_match_the_config_classes()
    {
        static IEnumerable<string> Names(Type type) => type.GetProperties()
            .Select(p => p.GetCustomAttributes(typeof(System.Text.Json.Serialization.JsonPropertyNameAttribute), false)
                .Cast<System.Text.Json.Serialization.JsonPropertyNameAttribute>().Single().Name);

        var sections = typeof(AgentConfigFile).GetProperties().ToDictionary(
            p => Names(typeof(AgentConfigFile)).ElementAt(Array.IndexOf(typeof(AgentConfigFile).GetProperties(), p)),
            p => Names(p.PropertyType).Order().ToArray());

        Assert.Equal(sections.Keys.Order(), AgentConfigFile.KnownKeys.Keys.Order());
        foreach (var (section, keys) in sections)
        {
            Assert.Equal(keys, AgentConfigFile.KnownKeys[section].Order());
        }
    }

    [Fact]
    public void The_packaged_example_config_parses()
    {
        var repo = new DirectoryInfo(AppContext.BaseDirectory);
        while (repo is not null && !File.Exists(Path.Combine(repo.FullName, "Nanobox.sln")))
        {
            repo = repo.Parent;
        }

        var path = Path.Combine(repo!.FullName, "packaging", "deb", "nanobox.toml");
        var uncommented = string.Join('\n', File.ReadAllLines(path).Select(l => l.StartsWith("# ") && l.Contains(" = ") ? l[2..] : l));

        AgentConfigFile.Parse(File.ReadAllText(path), path);
        var config = AgentConfigFile.Parse(uncommented, path);

        Assert.NotNull(config.Node);
    }
}

public sealed class ClusterFormationOptionsTests
{
    private static AgentOptions Resolve(string toml, Dictionary<string, string>? env = null) =>
        AgentOptionsResolver.Resolve(new AgentArguments(), n => env?.GetValueOrDefault(n), p => p == AgentOptions.DefaultConfigPath ? toml : null, "h");

    [Fact]
    public void Self_forming_is_off_without_peers_and_on_with_peers_and_a_secret()
    {
        Assert.Null(Resolve("[cluster]\nbootstrap_expect = 3\n").Formation);

        var formation = Resolve("[cluster]\nsecret = \"0123456789abcdef\"\njoin = [\"192.0.2.1\", \"192.0.2.2:7948\"]\n").Formation!;

        Assert.Equal(3, formation.BootstrapExpect);
        Assert.Equal(["192.0.2.1", "192.0.2.2:7948"], formation.Join);
    }

    [Fact]
    public void The_environment_can_give_the_peers_and_the_expected_count()
    {
        var formation = Resolve("", new() { ["NANOBOX_CLUSTER_JOIN"] = "192.0.2.1, 192.0.2.2", ["NANOBOX_CLUSTER_SECRET"] = "0123456789abcdef0", ["NANOBOX_BOOTSTRAP_EXPECT"] = "2" }).Formation!;

        Assert.Equal(2, formation.BootstrapExpect);
        Assert.Equal(["192.0.2.1", "192.0.2.2"], formation.Join);
    }

    [Theory]
    [InlineData("[cluster]\njoin = [\"192.0.2.1\"]\n", "needs cluster.secret")]
    [InlineData("[cluster]\njoin = [\"192.0.2.1\"]\nsecret = \"short\"\n", "at least 16")]
    [InlineData("[cluster]\nsecret = \"0123456789abcdef\"\n", "needs cluster.join")]
    [InlineData("[cluster]\njoin = [\"192.0.2.1\"]\nsecret = \"0123456789abcdef\"\nbootstrap_expect = 0\n", "at least 1")]
    [InlineData("[cluster]\ncertificate_lifetime = \"5\"\n", "not a duration")]
    [InlineData("[cluster]\ncertificate_lifetime = \"1s\"\n", "between 10s and 3650d")]
    [InlineData("[cluster]\nvoter_replace_after = \"5s\"\n", "between 10s and 30d")]
    public void Incomplete_or_bad_formation_settings_are_refused(string toml, string expected) =>
        Assert.Contains(expected, Assert.Throws<ConfigException>(() => Resolve(toml)).Message);

    [Fact]
    public void Certificate_lifetime_takes_units() =>
        Assert.Equal(TimeSpan.FromHours(12), Resolve("[cluster]\ncertificate_lifetime = \"12h\"\n").CertificateLifetime);
}
