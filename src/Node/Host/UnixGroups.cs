namespace Nanobox.Node.Host;

/// <summary>Looks up local groups in /etc/group (the package creates the 'nanobox' system group there).</summary>
public static class UnixGroups
{
    public const string NanoboxGroup = "nanobox";

    /// <summary>The group's id in /etc/group text, or null when there is no such group.</summary>
    public static uint? FindGroupId(string etcGroup, string name) =>
        etcGroup.Split('\n')
            .Select(line => line.Split(':'))
            .Where(f => f.Length >= 3 && f[0] == name && uint.TryParse(f[2], out _))
            .Select(f => (uint?)uint.Parse(f[2]))
            .FirstOrDefault();

    public static uint? FindGroupId(string name) =>
        File.Exists("/etc/group") ? FindGroupId(File.ReadAllText("/etc/group"), name) : null;
}
