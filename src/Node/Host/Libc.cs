using System.Runtime.InteropServices;

namespace Nanobox.Node.Host;

/// <summary>The few libc calls .NET has no managed API for.</summary>
internal static partial class Libc
{
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int chown(string path, int owner, int group);

    [LibraryImport("libc")]
    internal static partial uint umask(uint mask);

    [LibraryImport("libc")]
    internal static partial uint geteuid();
}
