namespace Nanobox.Lab;

/// <summary>
/// Every name and path a lab owns, derived from its id so that teardown and the stale sweep can find all
/// of it from the id alone. Files live under /var/lib/nanobox-lab/&lt;id&gt;, runtime state under
/// /run/nanobox-lab/&lt;id&gt;, namespaces are named nbx&lt;id&gt;-*.
/// </summary>
internal sealed class LabPaths(string id)
{
    public const string NamespacePrefix = "nbx";
    public static string FilesRoot { get; } = Environment.GetEnvironmentVariable("NANOBOX_LAB_FILES") ?? "/var/lib/nanobox-lab";
    public static string RunRoot { get; } = Environment.GetEnvironmentVariable("NANOBOX_LAB_RUN") ?? "/run/nanobox-lab";

    public string Id { get; } = id;
    public string FilesDir => Path.Combine(FilesRoot, Id);
    public string RunDir => Path.Combine(RunRoot, Id);
    public string StateFile => Path.Combine(RunDir, "lab.json");
    public string OwnerFile => Path.Combine(RunDir, "owner.pid");
    public string SwitchNamespace => Namespace("sw");

    /// <summary>Every namespace of this lab starts with this, so ids must never be prefixes of each other (they are fixed-length hex).</summary>
    public string NamespacePrefixForLab => $"{NamespacePrefix}{Id}-";

    public string Namespace(string host) => $"{NamespacePrefixForLab}{host}";
    public string HostDir(string host) => Path.Combine(FilesDir, host);
    public string HostRunDir(string host) => Path.Combine(RunDir, host);

    /// <summary>The lab id a namespace belongs to, or null for a namespace that is not a lab's.</summary>
    public static string? IdOfNamespace(string ns)
    {
        if (!ns.StartsWith(NamespacePrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var dash = ns.IndexOf('-', NamespacePrefix.Length);
        var id = dash < 0 ? null : ns[NamespacePrefix.Length..dash];
        return id is not null && IsId(id) ? id : null;
    }

    /// <summary>Ids of the labs with a state dir under /run/nanobox-lab (what `ls` and `down --all` walk).</summary>
    public static IReadOnlyList<string> ExistingIds(string root) =>
        System.IO.Directory.Exists(root)
            ? System.IO.Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().Where(IsId).Order().ToList()
            : [];

    public static string NewId() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));

    /// <summary>Ids are 8 lowercase hex digits; anything else under our roots is not ours to touch.</summary>
    public static bool IsId(string id) => id.Length == 8 && id.All(char.IsAsciiHexDigitLower);
}
