using System.Diagnostics;
using System.Runtime.Versioning;
using System.Text;
using System.Xml.Linq;

namespace Nanobox.Node.Tests.Packaging;

using Nanobox.Lab;

/// <summary>
/// The package tests share dpkg state (and the one /var/lib/nanobox), so they run one at a time, in
/// this collection, never in parallel with each other or with any other collection.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PackageCollection : ICollectionFixture<DebPackageFixture>
{
    public const string Name = "Package";
}

/// <summary>
/// Finds the repository and the .deb that ./publish.sh built (dist/nanobox_VERSION_amd64.deb, the
/// version read from Directory.Build.props), and extracts it once with `dpkg-deb -R`.
/// Nothing throws in the constructor: a missing .deb fails each test with a message saying what to do.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class DebPackageFixture : IDisposable
{
    private readonly Lazy<string> _repoRoot = new(FindRepoRoot);
    private readonly Lazy<string> _version;
    private readonly Lazy<string> _debPath;
    private readonly Lazy<string> _extracted;
    private string? _extractDir;

    public DebPackageFixture()
    {
        _version = new(() => ReadVersion(RepoRoot));
        _debPath = new(LocateDeb);
        _extracted = new(Extract);
    }

    public string RepoRoot => _repoRoot.Value;

    /// <summary>The product version, from Directory.Build.props.</summary>
    public string Version => _version.Value;

    public string DebPath => _debPath.Value;

    /// <summary>`dpkg-deb -R` of the package: the file system tree plus DEBIAN/.</summary>
    public string ExtractedRoot => _extracted.Value;

    public string PackagingDir => Path.Combine(RepoRoot, "packaging", "deb");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Nanobox.sln")))
            {
                return dir.FullName;
            }
        }

        Assert.Fail($"No ancestor of {AppContext.BaseDirectory} holds Nanobox.sln; run the tests from the repository.");
        return null!;
    }

    private static string ReadVersion(string repoRoot)
    {
        var props = XDocument.Load(Path.Combine(repoRoot, "Directory.Build.props"));
        var version = props.Descendants("Version").Select(e => e.Value.Trim()).FirstOrDefault();
        Assert.False(string.IsNullOrEmpty(version), "Directory.Build.props has no <Version>");
        return version!;
    }

    private string LocateDeb()
    {
        var dist = Path.Combine(RepoRoot, "dist");
        var expected = Path.Combine(dist, $"nanobox_{Version}_amd64.deb");
        if (File.Exists(expected))
        {
            return expected;
        }

        var others = Directory.Exists(dist) ? Directory.GetFiles(dist, "nanobox_*_amd64.deb") : [];
        Assert.Fail($"{expected} does not exist: run ./publish.sh first (it builds the binary and the .deb)."
            + (others.Length > 0 ? $" dist/ only holds {string.Join(", ", others.Select(Path.GetFileName))}, not version {Version}." : ""));
        return null!;
    }

    private string Extract()
    {
        _extractDir = Directory.CreateTempSubdirectory("nanobox-deb-").FullName;
        var root = Path.Combine(_extractDir, "root");
        var result = Cmd.Run("dpkg-deb", ["-R", DebPath, root]);
        Assert.True(result.ExitCode == 0, $"dpkg-deb -R {DebPath} failed: {result}");
        return root;
    }

    public void Dispose()
    {
        if (_extractDir is not null)
        {
            Directory.Delete(_extractDir, recursive: true);
        }
    }
}

/// <summary>Runs commands to completion with captured output, through the lab's process runner.</summary>
public static class Cmd
{
    public static CommandResult Run(string file, IEnumerable<string> args, TimeSpan? timeout = null, IReadOnlyDictionary<string, string?>? environment = null) =>
        ProcessRunner.RunAsync(file, args, timeout ?? TimeSpan.FromMinutes(3), env: environment).GetAwaiter().GetResult();

    /// <summary>Polls <paramref name="condition"/> every 50 ms until it holds or <paramref name="timeout"/> passes.</summary>
    public static bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            if (condition())
            {
                return true;
            }

            if (stopwatch.Elapsed > timeout)
            {
                return false;
            }

            Thread.Sleep(50);
        }
    }
}
