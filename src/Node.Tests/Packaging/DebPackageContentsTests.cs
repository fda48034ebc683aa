using System.Reflection;
using System.Runtime.Versioning;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Nanobox.Node.Host;
using Xunit.Abstractions;

namespace Nanobox.Node.Tests.Packaging;

/// <summary>What the .deb holds, read with dpkg-deb without installing it.</summary>
[Collection(PackageCollection.Name)]
[SupportedOSPlatform("linux")]
[Trait("Category", "Package")]
public sealed class DebPackageContentsTests(DebPackageFixture package, ITestOutputHelper output)
{
    /// <summary>Every path in the package with its mode; all must be root/root.</summary>
    private static readonly Dictionary<string, string> ExpectedContents = new()
    {
        ["./"] = "drwxr-xr-x",
        ["./etc/"] = "drwxr-xr-x",
        ["./etc/nanobox/"] = "drwxr-xr-x",
        ["./etc/nanobox/nanobox.toml"] = "-rw-r--r--",
        ["./lib/"] = "drwxr-xr-x",
        ["./lib/systemd/"] = "drwxr-xr-x",
        ["./lib/systemd/system/"] = "drwxr-xr-x",
        ["./lib/systemd/system/nanobox.service"] = "-rw-r--r--",
        ["./usr/"] = "drwxr-xr-x",
        ["./usr/bin/"] = "drwxr-xr-x",
        ["./usr/bin/nanobox"] = "-rwxr-xr-x",
        ["./usr/share/"] = "drwxr-xr-x",
        ["./usr/share/doc/"] = "drwxr-xr-x",
        ["./usr/share/doc/nanobox/"] = "drwxr-xr-x",
        ["./usr/share/doc/nanobox/copyright"] = "-rw-r--r--",
        ["./var/"] = "drwxr-xr-x",
        ["./var/lib/"] = "drwxr-xr-x",
        ["./var/lib/nanobox/"] = "drwx------",
    };

    [Fact]
    public void Contents_are_exactly_the_expected_files_with_their_modes_owned_by_root()
    {
        var listing = Dpkg("--contents", package.DebPath);
        var actual = new Dictionary<string, string>();
        foreach (var line in listing.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // drwxr-xr-x root/root         0 2026-11-22 21:18 ./usr/bin/
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            Assert.True(fields.Length == 6, $"unexpected dpkg-deb --contents line: {line}");
            Assert.True(fields[1] == "root/root", $"{fields[5]} is owned by {fields[1]}, not root/root");
            actual[fields[5]] = fields[0];
        }

        // The changelog's name follows Debian policy 12.7: changelog.gz for a native version.
        var changelog = package.Version.Contains('-') ? "./usr/share/doc/nanobox/changelog.Debian.gz" : "./usr/share/doc/nanobox/changelog.gz";
        var expected = new Dictionary<string, string>(ExpectedContents) { [changelog] = "-rw-r--r--" };

        Assert.Equal(expected.OrderBy(e => e.Key, StringComparer.Ordinal), actual.OrderBy(e => e.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void Control_fields_name_the_package_version_and_section()
    {
        Assert.Equal("nanobox", Field("Package"));
        Assert.Equal(package.Version, Field("Version"));
        Assert.Equal("amd64", Field("Architecture"));
        Assert.Equal("net", Field("Section"));
        Assert.Equal("optional", Field("Priority"));
        Assert.Matches(@"^\S.* <[^@\s]+@[^>\s]+>$", Field("Maintainer"));
        Assert.False(string.IsNullOrWhiteSpace(Field("Description")));

        // Installed-Size is in KiB and must at least cover the binary.
        var installedSize = long.Parse(Field("Installed-Size"));
        var binaryKiB = new FileInfo(Path.Combine(package.ExtractedRoot, "usr/bin/nanobox")).Length / 1024;
        Assert.InRange(installedSize, binaryKiB, binaryKiB + 64);
    }

    [Fact]
    public void Depends_names_everything_the_binary_needs_at_run_time()
    {
        var depends = Field("Depends");
        output.WriteLine($"Depends: {depends}");
        var groups = depends.Split(',', StringSplitOptions.TrimEntries)
            .Select(group => string.Join(" | ", group.Split('|', StringSplitOptions.TrimEntries).Select(StripVersion)))
            .ToList();

        Assert.Equal(
            ["libc6", "nftables", "libnftables1", "iproute2", "docker.io | docker-ce | docker-engine", "libssl3 | libssl1.1", "ca-certificates"],
            groups);

        // libc6 carries the newest glibc symbol version the binary references.
        Assert.Matches(@"(^|, )libc6 \(>= 2\.\d+\)", depends);

        static string StripVersion(string relation) => Regex.Replace(relation, @"\s*\(.*\)$", "");
    }

    [Fact]
    public void Conffiles_lists_only_the_config_file()
    {
        var conffiles = File.ReadAllLines(Path.Combine(package.ExtractedRoot, "DEBIAN/conffiles")).Where(l => l.Trim().Length > 0);
        Assert.Equal(["/etc/nanobox/nanobox.toml"], conffiles);
    }

    [Fact]
    public void Packaged_files_are_the_ones_in_packaging_deb()
    {
        // Catches a stale dist/*.deb built before the sources changed.
        (string Packaged, string Source)[] pairs =
        [
            ("lib/systemd/system/nanobox.service", "nanobox.service"),
            ("etc/nanobox/nanobox.toml", "nanobox.toml"),
            ("usr/share/doc/nanobox/copyright", "copyright"),
            ("DEBIAN/postinst", "postinst"),
            ("DEBIAN/prerm", "prerm"),
            ("DEBIAN/postrm", "postrm"),
            ("DEBIAN/conffiles", "conffiles"),
        ];
        foreach (var (packaged, source) in pairs)
        {
            Assert.True(
                File.ReadAllText(Path.Combine(package.ExtractedRoot, packaged)) == File.ReadAllText(Path.Combine(package.PackagingDir, source)),
                $"{packaged} in {package.DebPath} differs from packaging/deb/{source}: run ./publish.sh again");
        }

        Assert.Contains("MIT", File.ReadAllText(Path.Combine(package.ExtractedRoot, "usr/share/doc/nanobox/copyright")));
        Assert.Contains("Nanobox Node authors", File.ReadAllText(Path.Combine(package.ExtractedRoot, "usr/share/doc/nanobox/copyright")));
    }

    [Fact]
    public void Maintainer_scripts_are_posix_sh_with_set_e_and_pass_shellcheck()
    {
        string[] scripts = ["postinst", "prerm", "postrm"];
        foreach (var script in scripts)
        {
            var path = Path.Combine(package.ExtractedRoot, "DEBIAN", script);
            var lines = File.ReadAllLines(path);
            Assert.Equal("#!/bin/sh", lines[0]);
            Assert.Contains("set -e", lines);
            Assert.Equal(UnixFileMode.UserExecute, File.GetUnixFileMode(path) & UnixFileMode.UserExecute);
            var syntax = Cmd.Run("sh", ["-n", path]);
            Assert.True(syntax.ExitCode == 0, syntax.ToString());
        }

        if (Cmd.Run("sh", ["-c", "command -v shellcheck"]).ExitCode != 0)
        {
            output.WriteLine("shellcheck is not installed (apt-get install shellcheck): only `sh -n` was checked.");
            return;
        }

        var shellcheck = Cmd.Run("shellcheck", ["--shell=sh", .. scripts.Select(s => Path.Combine(package.ExtractedRoot, "DEBIAN", s))]);
        Assert.True(shellcheck.ExitCode == 0, shellcheck.ToString());
    }

    [Fact]
    public void Config_file_documents_every_key_the_agent_accepts_commented_out()
    {
        var text = File.ReadAllText(Path.Combine(package.ExtractedRoot, "etc/nanobox/nanobox.toml"));

        // As shipped (everything commented out) it is a valid, empty config.
        var shipped = AgentConfigFile.Parse(text, "nanobox.toml");
        Assert.True(shipped.Node?.Name is null && shipped.Node?.DataDir is null && shipped.Node?.Advertise is null
            && shipped.Admin?.Socket is null && shipped.Log?.Level is null, "the shipped config must not set anything");

        // Every key the agent knows (read from AgentConfigFile itself) appears commented out under its section...
        var keys = ConfigKeys().ToList();
        Assert.NotEmpty(keys);
        var section = "";
        var documented = new HashSet<string>();
        foreach (var line in text.Split('\n').Select(l => l.Trim()))
        {
            if (Regex.Match(line, @"^\[(\w+)\]$") is { Success: true } header)
            {
                section = header.Groups[1].Value;
            }
            else if (Regex.Match(line, @"^#\s*(\w+)\s*=") is { Success: true } key)
            {
                documented.Add($"{section}.{key.Groups[1].Value}");
            }
        }

        Assert.Equal(keys.Order(StringComparer.Ordinal), documented.Order(StringComparer.Ordinal));

        // ...and uncommenting all of them gives a config the agent accepts, with every key set.
        var uncommented = Regex.Replace(text, @"^#\s*(\w+\s*=)", "$1", RegexOptions.Multiline);
        var full = AgentConfigFile.Parse(uncommented, "nanobox.toml (all keys uncommented)");
        Assert.All(new[] { full.Node?.Name, full.Node?.DataDir, full.Node?.Advertise, full.Admin?.Socket, full.Log?.Level }, Assert.NotNull);
        var options = AgentOptionsResolver.Resolve(new AgentArguments(), _ => null, _ => uncommented, "host");
        Assert.Equal(AgentOptions.DefaultDataDir, options.DataDir);
        Assert.Equal(AgentOptions.DefaultSocketPath, options.SocketPath);
    }

    [Fact]
    public void Unit_has_the_required_directives_and_none_that_would_break_the_agent()
    {
        var unit = File.ReadAllLines(Path.Combine(package.ExtractedRoot, "lib/systemd/system/nanobox.service"))
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#') && !l.StartsWith('['))
            .Select(l => l.Split('=', 2))
            .ToLookup(kv => kv[0], kv => kv[1]);

        string One(string key)
        {
            var values = unit[key].ToList();
            Assert.True(values.Count == 1, $"{key}= appears {values.Count} times in the unit");
            return values[0];
        }

        Assert.Equal("notify", One("Type"));
        Assert.Equal("main", One("NotifyAccess"));
        Assert.Equal("/usr/bin/nanobox agent", One("ExecStart"));
        Assert.Equal("always", One("Restart"));
        Assert.Equal("2s", One("RestartSec"));
        Assert.Equal("78", One("RestartPreventExitStatus"));
        Assert.Equal("10s", One("TimeoutStopSec"));
        Assert.Equal(["network-online.target", "docker.service"], One("After").Split(' '));
        Assert.Equal("network-online.target", One("Wants"));
        Assert.Equal("nanobox", One("RuntimeDirectory"));
        Assert.Equal("0750", One("RuntimeDirectoryMode"));
        Assert.Equal("nanobox", One("StateDirectory"));
        Assert.Equal("0700", One("StateDirectoryMode"));
        Assert.Equal("0007", One("UMask"));
        Assert.True(int.Parse(One("LimitNOFILE")) >= 65536);
        Assert.Equal("multi-user.target", One("WantedBy"));
        foreach (var hardening in new[] { "PrivateTmp", "ProtectClock", "ProtectKernelLogs", "ProtectControlGroups", "LockPersonality", "RestrictRealtime" })
        {
            Assert.Equal("yes", One(hardening));
        }

        Assert.Equal("native", One("SystemCallArchitectures"));
        Assert.Contains("AF_NETLINK", One("RestrictAddressFamilies").Split(' '));

        // Each of these would break something the agent does now or later (see the unit's comments).
        foreach (var breaking in new[] { "ProtectKernelTunables", "ProtectSystem", "PrivateNetwork", "PrivateDevices", "User", "DynamicUser", "CapabilityBoundingSet", "RestrictNamespaces", "ProtectHostname" })
        {
            Assert.False(unit.Contains(breaking), $"{breaking}= must not be in the unit (see its comments)");
        }
    }

    private static IEnumerable<string> ConfigKeys() =>
        from section in typeof(AgentConfigFile).GetProperties()
        let sectionName = section.GetCustomAttribute<JsonPropertyNameAttribute>()!.Name
        from key in section.PropertyType.GetProperties()
        select $"{sectionName}.{key.GetCustomAttribute<JsonPropertyNameAttribute>()!.Name}";

    private string Field(string name) => Dpkg("--field", package.DebPath, name).Trim();

    private static string Dpkg(params string[] args)
    {
        var result = Cmd.Run("dpkg-deb", args);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Stdout;
    }
}
