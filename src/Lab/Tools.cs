namespace Nanobox.Lab;

/// <summary>
/// Absolute paths of the system tools the lab drives, and the checks that refuse to run a lab on a
/// machine that cannot host one. A missing prerequisite is an error, never a skip: CI must fail loudly.
/// </summary>
internal static class Tools
{
    // sbin is often missing from PATH under test runners, yet that is where ip, nft and dockerd live.
    private static readonly string[] ExtraDirs = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

    public static string Ip => Find("ip", "iproute2");
    public static string Bridge => Find("bridge", "iproute2");
    public static string Nsenter => Find("nsenter", "util-linux");
    public static string Nft => Find("nft", "nftables");
    public static string Setsid => Find("setsid", "util-linux");
    public static string Docker => Find("docker", "docker.io");
    public static string Dockerd => Find("dockerd", "docker.io");
    public static string Umount => Find("umount", "mount");
    public static string Sshd => Find("sshd", "openssh-server");
    public static string SshKeygen => Find("ssh-keygen", "openssh-client");
    public static string Sysctl => Find("sysctl", "procps");
    public static string Sh => "/bin/sh";

    /// <summary>
    /// Throws <see cref="LabPrerequisiteException"/> unless this process can build a lab. sshd is checked
    /// when a host starts one: most labs have none.
    /// </summary>
    public static void EnsurePrerequisites(bool docker)
    {
        EnsureRoot();

        _ = Ip;
        _ = Nsenter;
        _ = Nft;
        _ = Setsid;
        _ = Sysctl;
        _ = TestImage.BusyboxPath; // ping in hosts, and the test image
        if (docker)
        {
            _ = Docker;
            _ = Dockerd;
        }
    }

    public static void EnsureRoot()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            throw new LabPrerequisiteException("the lab creates network namespaces and must run as root (sudo)");
        }
    }

    public static string? TryFind(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(ExtraDirs)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    private static string Find(string name, string package) =>
        TryFind(name) ?? throw new LabPrerequisiteException($"`{name}` not found on PATH or in sbin: install {package}");
}
