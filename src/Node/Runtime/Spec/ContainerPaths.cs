using System.Text.RegularExpressions;

namespace Nanobox.Node.Runtime.Spec;

/// <summary>The rules for <c>writable_dirs</c> and <c>network_dirs</c>: paths inside the container that get a mount.</summary>
internal static partial class ContainerPaths
{
    public const int MaxLength = 256;

    /// <summary>Kernel filesystems Docker mounts itself: a mount over them breaks the container or the lockdown.</summary>
    private static readonly string[] KernelFilesystems = ["/proc", "/sys", "/dev"];

    /// <summary>Already a writable tmpfs in every container.</summary>
    public const string Tmp = "/tmp";

    /// <summary>Safe in a mount spec, a volume name and a shell: no ':' ',' spaces, quotes or globs.</summary>
    [GeneratedRegex("^[A-Za-z0-9._@+/-]+$")]
    private static partial Regex SafeCharacters();

    /// <returns>Null when <paramref name="path"/> is acceptable; otherwise what is wrong and the fix.</returns>
    public static (string Problem, string Fix)? Check(string path)
    {
        if (!path.StartsWith('/'))
            return ($"{path} is not an absolute path", $"give a path starting with /, e.g. /{path.TrimStart('.', '/')}");
        if (path.Length > MaxLength)
            return ($"is {path.Length} characters long", $"give a path of at most {MaxLength}");
        if (!SafeCharacters().IsMatch(path))
            return ($"{path} contains characters other than letters, digits and . _ - @ + /", "rename the directory with those characters only");
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Contains(".."))
            return ($"{path} contains ..", "give the directory's real path, without ..");
        var normal = "/" + string.Join('/', segments.Where(static s => s != "."));
        if (normal == "/")
            return ($"{path} is the whole filesystem", "give a directory under it, e.g. /app/data");
        if (normal != path)
            return ($"{path} is not in normal form", $"write it as {normal}");
        if (KernelFilesystems.FirstOrDefault(k => IsSameOrUnder(path, k)) is { } kernel)
            return ($"{path} is under {kernel}, which the kernel provides", "choose a directory outside /proc, /sys and /dev");
        if (IsSameOrUnder(path, Tmp))
            return ($"{path} is under /tmp, which is already a writable tmpfs", "choose a directory outside /tmp");
        return null;
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="dir"/> or inside it (both normal).</summary>
    public static bool IsSameOrUnder(string path, string dir) =>
        path == dir || path.StartsWith(dir + "/", StringComparison.Ordinal);
}
