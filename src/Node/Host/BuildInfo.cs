using System.Diagnostics;
using System.Reflection;

namespace Nanobox.Node.Host;

/// <summary>What this binary is: its version and when the process started.</summary>
public static class BuildInfo
{
    /// <summary>When the kernel started this process (not when this class was first touched), so uptime and "ready in" count from exec.</summary>
    private static readonly DateTime ProcessStart = Process.GetCurrentProcess().StartTime.ToUniversalTime();

    public static string Version { get; } =
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? "0.0.0";

    public static TimeSpan Uptime => DateTime.UtcNow - ProcessStart;
}
