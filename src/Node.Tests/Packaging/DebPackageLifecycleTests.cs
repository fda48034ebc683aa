using System.Diagnostics;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Nanobox.Node.Tests.Packaging;

using Nanobox.Lab;

/// <summary>
/// Installs, runs, removes and purges the real package on this machine (root required). If nanobox
/// is already installed, an operator put it there: it is reinstalled over, never removed.
/// </summary>
[Collection(PackageCollection.Name)]
[SupportedOSPlatform("linux")]
[Trait("Category", "Package")]
public sealed class DebPackageLifecycleTests(DebPackageFixture package, ITestOutputHelper output)
{
    private const string Binary = "/usr/bin/nanobox";
    private const string Unit = "/lib/systemd/system/nanobox.service";
    private const string WantsLink = "/etc/systemd/system/multi-user.target.wants/nanobox.service";
    private const string ConfDir = "/etc/nanobox";
    private const string ConfFile = "/etc/nanobox/nanobox.toml";
    private const string DataDir = "/var/lib/nanobox";
    private const string RunDir = "/run/nanobox";
    private const string Socket = "/run/nanobox/admin.sock";

    private static readonly string[] PackagePaths = [Binary, Unit, WantsLink, ConfDir, DataDir, RunDir];

    /// <summary>Our processes must not see settings meant for another agent.</summary>
    private static readonly Dictionary<string, string?> CleanEnvironment = new()
    {
        ["NANOBOX_CONFIG"] = null,
        ["NANOBOX_DATA_DIR"] = null,
        ["NANOBOX_SOCKET"] = null,
        ["NANOBOX_ADVERTISE"] = null,
        ["NANOBOX_NAME"] = null,
        ["NANOBOX_LOG_LEVEL"] = null,
        ["NOTIFY_SOCKET"] = null,
        ["JOURNAL_STREAM"] = null,
        ["DEBIAN_FRONTEND"] = "noninteractive",
        // needrestart (if installed) would otherwise scan services after every apt run.
        ["NEEDRESTART_SUSPEND"] = "1",
    };

    private static bool SystemdRunning => Directory.Exists("/run/systemd/system");

    [Fact]
    public void Install_run_by_hand_remove_and_purge()
    {
        Assert.True(Environment.IsPrivilegedProcess, "the package lifecycle test installs a .deb: run it as root");
        var deb = package.DebPath;
        var status = DpkgStatus();
        output.WriteLine($"package: {deb}; dpkg status of nanobox before the test: {status ?? "not known to dpkg"}; systemd running: {SystemdRunning}");

        if (status == "install ok installed")
        {
            ReinstallOverAnOperatorsInstallation(deb);
            return;
        }

        // Leftovers of an earlier installation (removed, not purged) or of an agent run by hand with the
        // default paths: `dpkg -P` would delete that node's identity and store, so the purge is skipped.
        var leftovers = new[] { ConfDir, DataDir }.Where(Path.Exists).ToList();
        var mayPurge = status is null && leftovers.Count == 0;
        // dpkg keeps an existing (possibly edited) conffile; otherwise it installs the shipped one.
        var expectedConffile = File.Exists(ConfFile)
            ? File.ReadAllText(ConfFile)
            : File.ReadAllText(Path.Combine(package.ExtractedRoot, "etc/nanobox/nanobox.toml"));
        Process? agent = null;
        try
        {
            Install(deb);
            CheckInstalled();
            agent = StartAgentByHand();

            var remove = Run("dpkg", "-r", "nanobox");
            Assert.True(remove.ExitCode == 0, remove.ToString());
            Assert.True(agent.WaitForExit(TimeSpan.FromSeconds(2)), $"dpkg -r returned but the agent (pid {agent.Id}) is still running:\n{remove}");
            Assert.False(Directory.Exists($"/proc/{agent.Id}"), $"pid {agent.Id} still exists after dpkg -r");
            Assert.True(agent.ExitCode == 0, $"the agent exited {agent.ExitCode} when prerm stopped it (expected a clean 0)");
            Assert.Contains("stopping the agent started by hand", remove.Stdout);
            CheckRemoved(expectedConffile);

            if (!mayPurge)
            {
                output.WriteLine($"NOT PURGED: before the test nanobox was '{status ?? "not installed"}' and {string.Join(", ", leftovers)} existed; "
                    + "`dpkg -P nanobox` would delete them, so the purge half was not run. Purge by hand and rerun to test it.");
                return;
            }

            var purge = Run("dpkg", "-P", "nanobox");
            Assert.True(purge.ExitCode == 0, purge.ToString());
            Assert.Null(DpkgStatus());
            foreach (var path in PackagePaths)
            {
                Assert.False(Path.Exists(path) || File.Exists(path) || IsSymlink(path), $"{path} is left after dpkg -P");
            }

            // Deliberately kept (Debian practice, see packaging/deb/postrm).
            Assert.True(Run("getent", "group", "nanobox").ExitCode == 0, "dpkg -P must leave the nanobox group");
        }
        finally
        {
            if (agent is { HasExited: false })
            {
                agent.Kill();
                agent.WaitForExit();
            }

            agent?.Dispose();
            if (DpkgStatus() is not null)
            {
                // Never leave the package behind: removed (operator leftovers kept) or purged (clean machine).
                Run("dpkg", mayPurge ? "-P" : "-r", "nanobox");
            }
        }
    }

    /// <summary>The operator's installation survives: same conffile, same data, still enabled.</summary>
    private void ReinstallOverAnOperatorsInstallation(string deb)
    {
        var conffileBefore = Hash(ConfFile);
        var agentsBefore = RunningAgents();
        var dataBefore = Snapshot(DataDir, withContents: agentsBefore.Count == 0);
        var masked = Path.Exists("/etc/systemd/system/nanobox.service") && new FileInfo("/etc/systemd/system/nanobox.service").LinkTarget == "/dev/null";
        if (agentsBefore.Count > 0)
        {
            output.WriteLine($"agent(s) from {Binary} running before the reinstall (pid {string.Join(", ", agentsBefore)}): prerm stops them, as on any upgrade.");
        }

        var reinstall = Run("dpkg", "-i", deb);
        Assert.True(reinstall.ExitCode == 0, reinstall.ToString());

        Assert.Equal(conffileBefore, Hash(ConfFile));
        Assert.Equal(dataBefore, Snapshot(DataDir, withContents: agentsBefore.Count == 0));
        if (agentsBefore.Count > 0 && !SystemdRunning)
        {
            output.WriteLine($"NOTE: the agent that was running is stopped now (no systemd to restart it); start it again with `nanobox agent`.");
        }
        CheckInstalled(checkWantsLink: !masked);

        output.WriteLine("REMOVE/PURGE NOT RUN: nanobox was already installed when the test started (an operator installed it), "
            + "so the test reinstalled over it and checked that the conffile and /var/lib/nanobox survived, but did not start its own agent, "
            + "remove or purge. Run `dpkg -P nanobox` before the tests to run the whole lifecycle.");
    }

    private void Install(string deb)
    {
        // apt-get resolves the Depends (already installed here; CI installs them first) and waits for
        // the dpkg lock if another apt is running.
        var install = Run("apt-get", "install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=120", Path.GetFullPath(deb));
        Assert.True(install.ExitCode == 0, install.ToString());
        Assert.Equal("install ok installed", DpkgStatus());
        if (!SystemdRunning)
        {
            Assert.Contains("systemd is not running, so the agent was not started; start it by hand with: nanobox agent", install.Stdout);
        }
    }

    private void CheckInstalled(bool checkWantsLink = true)
    {
        var version = Run(Binary, "--version");
        Assert.True(version.ExitCode == 0, version.ToString());
        Assert.Equal(package.Version, version.Stdout.Trim());

        Assert.True(Run("getent", "group", "nanobox").ExitCode == 0, "postinst must create the nanobox group");
        Assert.Equal("700 0 0", Stat(DataDir));
        Assert.Equal("644 0 0", Stat(ConfFile));
        Assert.Equal("755 0 0", Stat(Binary));

        // systemd-analyze verify exits 0 on unknown or misspelt directives and only warns, so its
        // output must not mention our unit either.
        var verify = Run("systemd-analyze", "verify", Unit);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.DoesNotContain("nanobox", verify.Stdout + verify.Stderr);

        if (checkWantsLink)
        {
            Assert.True(IsSymlink(WantsLink), $"{WantsLink} does not exist: postinst did not enable the unit");
            Assert.Equal(Unit, new FileInfo(WantsLink).LinkTarget);
        }

        if (SystemdRunning)
        {
            Assert.Equal("active", Run("systemctl", "is-active", "nanobox.service").Stdout.Trim());
        }
    }

    /// <summary>`nanobox agent &amp;` with the default paths, as a user would after the install message; waits until `nanobox status` answers.</summary>
    private Process StartAgentByHand()
    {
        Assert.False(SystemdRunning && Run("systemctl", "is-active", "nanobox.service").Stdout.Trim() == "active",
            "systemd runs the agent already; a second one cannot take the data dir lock");

        var startInfo = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        startInfo.ArgumentList.Add("agent");
        foreach (var (key, value) in CleanEnvironment)
        {
            if (value is null)
            {
                startInfo.Environment.Remove(key);
            }
        }

        var log = new StringBuilder();
        var agent = Process.Start(startInfo)!;
        agent.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.AppendLine(e.Data); } } };
        agent.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.AppendLine(e.Data); } } };
        agent.BeginOutputReadLine();
        agent.BeginErrorReadLine();
        output.WriteLine($"started `{Binary} agent` by hand: pid {agent.Id}");

        CommandResult? status = null;
        var answered = Cmd.WaitUntil(
            () => agent.HasExited || (status = Run(Binary, "status", "--json")).ExitCode == 0,
            TimeSpan.FromSeconds(30));
        Assert.True(answered && !agent.HasExited,
            $"the agent did not answer `nanobox status` within 30 s (exited: {agent.HasExited})\n--- agent log ---\n{log}\n--- last status ---\n{status}");

        using var json = JsonDocument.Parse(status!.Stdout);
        Assert.Equal(package.Version, json.RootElement.GetProperty("version").GetString());
        Assert.Equal(DataDir, json.RootElement.GetProperty("dataDir").GetString());
        output.WriteLine($"nanobox status --json: {status.Stdout.Trim()}");

        // The socket is for root and the nanobox group only, also when the agent is started by hand.
        var gid = Run("getent", "group", "nanobox").Stdout.Split(':')[2];
        Assert.Equal($"660 0 {gid}", Stat(Socket));
        Assert.Equal($"750 0 {gid}", Stat(RunDir));
        return agent;
    }

    /// <summary>After `dpkg -r`: exactly the conffile (unchanged) and the data dir are left.</summary>
    private static void CheckRemoved(string expectedConffile)
    {
        Assert.Equal("deinstall ok config-files", DpkgStatus());
        foreach (var gone in new[] { Binary, Unit, WantsLink, RunDir })
        {
            Assert.False(Path.Exists(gone) || IsSymlink(gone), $"{gone} is left after dpkg -r");
        }

        Assert.Equal([ConfFile], Directory.GetFileSystemEntries(ConfDir));
        Assert.True(expectedConffile == File.ReadAllText(ConfFile), $"{ConfFile} changed between install and dpkg -r");
        Assert.True(Directory.Exists(DataDir), $"{DataDir} (the node's store) must survive dpkg -r");
        Assert.Equal("700 0 0", Stat(DataDir));
        Assert.Contains(Path.Combine(DataDir, "node.db"), Directory.GetFiles(DataDir));
    }

    private static string? DpkgStatus()
    {
        var result = Cmd.Run("dpkg-query", ["-W", "-f=${Status}", "nanobox"]);
        var text = result.Stdout.Trim();
        return result.ExitCode != 0 || text.Length == 0 || text.EndsWith("not-installed") ? null : text;
    }

    /// <summary>Pids of `nanobox agent` processes running /usr/bin/nanobox (the same rule as prerm).</summary>
    private static List<int> RunningAgents()
    {
        var pids = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var exe = new FileInfo(Path.Combine(dir, "exe")).LinkTarget;
                var args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (exe is Binary or Binary + " (deleted)" && args.Length > 1 && args[1] == "agent")
                {
                    pids.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The process ended while we looked.
            }
        }

        return pids;
    }

    /// <summary>
    /// Mode and owner of a directory and, when no agent is using it, the names, modes, owners and
    /// content hashes of its files (a running agent rewrites agent.lock and its store's journal).
    /// </summary>
    private static string Snapshot(string dir, bool withContents)
    {
        var lines = new List<string> { $". {Stat(dir)}" };
        if (!withContents)
        {
            lines.Add($"node.db exists: {File.Exists(Path.Combine(dir, "node.db"))}");
            return string.Join('\n', lines);
        }

        foreach (var path in Directory.GetFileSystemEntries(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            lines.Add($"{Path.GetRelativePath(dir, path)} {Stat(path)}{(File.Exists(path) ? " " + Hash(path) : "")}");
        }

        return string.Join('\n', lines);
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private static string Stat(string path)
    {
        var result = Cmd.Run("stat", ["-c", "%a %u %g", path]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Stdout.Trim();
    }

    private static bool IsSymlink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget is not null;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private CommandResult Run(string file, params string[] args)
    {
        var result = Cmd.Run(file, args, TimeSpan.FromMinutes(5), CleanEnvironment);
        if (file is "dpkg" or "apt-get")
        {
            output.WriteLine($"$ {result.Command} -> {result.ExitCode}\n{result.Stdout}{result.Stderr}");
        }

        return result;
    }
}
