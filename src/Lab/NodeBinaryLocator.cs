namespace Nanobox.Lab;

/// <summary>Finds the published nanobox binary the lab runs.</summary>
internal static class NodeBinaryLocator
{
    public const string EnvVar = "NANOBOX_BIN";

    /// <summary><paramref name="configured"/>, else $NANOBOX_BIN, else &lt;repo&gt;/artifacts/publish/nanobox.</summary>
    public static string Resolve(string? configured)
    {
        var path = configured ?? Environment.GetEnvironmentVariable(EnvVar) ?? DefaultPath();
        return File.Exists(path)
            ? Path.GetFullPath(path)
            : throw new LabPrerequisiteException($"nanobox binary not found at {path}: run ./publish.sh first (or set {EnvVar})");
    }

    private static string DefaultPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Nanobox.sln")))
            {
                return Path.Combine(dir.FullName, "artifacts", "publish", "nanobox");
            }
        }

        throw new LabPrerequisiteException($"no Nanobox.sln above {AppContext.BaseDirectory} to find artifacts/publish/nanobox in: set {EnvVar}");
    }
}
