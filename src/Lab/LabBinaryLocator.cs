namespace Nanobox.Lab;

/// <summary>
/// Finds the nanobox-lab executable itself, for work that must run inside a host's namespace as a
/// process of its own (the port scanner): a test runs in the root namespace and must never move there.
/// </summary>
internal static class LabBinaryLocator
{
    public const string EnvVar = "NANOBOX_LAB_BIN";
    private const string Name = "nanobox-lab";

    /// <summary>
    /// The argv prefix that starts nanobox-lab: $NANOBOX_LAB_BIN, else the apphost beside this assembly
    /// (a project that references the lab gets one copied to its output), else `dotnet nanobox-lab.dll`.
    /// </summary>
    public static IReadOnlyList<string> Command()
    {
        if (Environment.GetEnvironmentVariable(EnvVar) is { Length: > 0 } configured)
        {
            return File.Exists(configured)
                ? [Path.GetFullPath(configured)]
                : throw new LabPrerequisiteException($"{EnvVar} is {configured}, which does not exist");
        }

        var apphost = Path.Combine(AppContext.BaseDirectory, Name);
        if (File.Exists(apphost))
        {
            return [apphost];
        }

        var dll = Path.Combine(AppContext.BaseDirectory, $"{Name}.dll");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH")
            ?? (Path.GetFileName(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath : null)
            ?? Tools.TryFind("dotnet");
        return File.Exists(dll) && dotnet is not null
            ? [dotnet, dll]
            : throw new LabPrerequisiteException($"no {Name} (nor {Name}.dll and dotnet) in {AppContext.BaseDirectory}: build src/Lab or set {EnvVar}");
    }
}
