namespace Nanobox.Lab;

/// <summary>
/// What dockerd and `ip netns` leave mounted under a lab's directories. They share our mount namespace
/// (we only enter the network namespace), so /proc/self/mountinfo sees them all.
/// </summary>
internal static class Mounts
{
    /// <summary>Mount points at or below any of <paramref name="roots"/>, deepest first.</summary>
    public static IReadOnlyList<string> Under(params string[] roots) =>
        File.ReadAllLines("/proc/self/mountinfo")
            .Select(line => line.Split(' '))
            .Where(f => f.Length > 4)
            .Select(f => Unescape(f[4]))
            .Where(mp => roots.Any(root => mp == root || mp.StartsWith(root + "/", StringComparison.Ordinal)))
            .Distinct()
            .OrderByDescending(mp => mp.Count(c => c == '/'))
            .ThenByDescending(mp => mp.Length)
            .ToList();

    /// <summary>Lazily unmounts everything below the roots, deepest first, until nothing is left (stacked mounts need several rounds).</summary>
    public static async Task UnmountAllAsync(string[] roots, CancellationToken ct)
    {
        for (var round = 0; round < 5; round++)
        {
            var mounts = Under(roots);
            if (mounts.Count == 0)
            {
                return;
            }

            foreach (var mountPoint in mounts)
            {
                await ProcessRunner.RunAsync(Tools.Umount, ["-l", mountPoint], TimeSpan.FromSeconds(30), ct);
            }
        }

        var left = Under(roots);
        if (left.Count > 0)
        {
            throw new LabException($"still mounted after umount -l: {string.Join(", ", left)}");
        }
    }

    // mountinfo escapes space, tab, newline and backslash as \ooo.
    private static string Unescape(string field) =>
        System.Text.RegularExpressions.Regex.Replace(field, @"\\([0-7]{3})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString());
}
