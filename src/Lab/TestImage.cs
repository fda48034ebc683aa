using System.Formats.Tar;

namespace Nanobox.Lab;

/// <summary>
/// nanobox-lab/busybox:latest, built without a registry: a rootfs of the static busybox (package
/// busybox-static) with its applet links, root and an unprivileged user "app" (1000:1000) and a sticky
/// /tmp, written as a tar in memory and piped into `docker import`.
/// </summary>
internal static class TestImage
{
    public const string Tag = "nanobox-lab/busybox:latest";
    public const int AppUid = 1000;

    private const UnixFileMode Dir755 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private const UnixFileMode File644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private const UnixFileMode Sticky1777 = Dir755 | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.StickyBit;

    /// <summary>The static busybox; a dynamic one would not run in an image without libc.</summary>
    public static string BusyboxPath =>
        new[] { "/bin/busybox", "/usr/bin/busybox" }.FirstOrDefault(p => File.Exists(p) && IsStatic(p))
        ?? throw new LabPrerequisiteException("no statically linked busybox in /bin: install busybox-static");

    public static async Task ImportAsync(DockerEngine engine, CancellationToken ct)
    {
        var tar = await BuildRootfsAsync(ct);
        var result = await engine.RunAsync(["import", "--change", "CMD [\"/bin/sh\"]", "-", Tag], TimeSpan.FromSeconds(120), ct,
            stdin: async (input, token) =>
            {
                tar.Position = 0;
                await tar.CopyToAsync(input, token);
            });
        result.EnsureSuccess();
    }

    private static async Task<MemoryStream> BuildRootfsAsync(CancellationToken ct)
    {
        var busybox = BusyboxPath;
        var applets = (await ProcessRunner.RunAsync(busybox, ["--list"], ct: ct)).EnsureSuccess().Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(a => a != "busybox" && !a.Contains('/'));

        var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var dir in new[] { "bin/", "etc/", "root/", "home/", "home/app/" })
            {
                await writer.WriteEntryAsync(Entry(TarEntryType.Directory, dir, Dir755, dir == "home/app/" ? AppUid : 0), ct);
            }

            await writer.WriteEntryAsync(Entry(TarEntryType.Directory, "tmp/", Sticky1777), ct);

            var binary = Entry(TarEntryType.RegularFile, "bin/busybox", Dir755);
            await using var content = File.OpenRead(busybox);
            binary.DataStream = content;
            await writer.WriteEntryAsync(binary, ct);

            foreach (var applet in applets)
            {
                var link = Entry(TarEntryType.SymbolicLink, $"bin/{applet}", Dir755);
                link.LinkName = "busybox";
                await writer.WriteEntryAsync(link, ct);
            }

            await WriteTextAsync(writer, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n", ct);
            await WriteTextAsync(writer, "etc/group", "root:x:0:\napp:x:1000:\n", ct);
        }

        return tar;
    }

    private static UstarTarEntry Entry(TarEntryType type, string name, UnixFileMode mode, int owner = 0) =>
        new(type, name) { Mode = mode, Uid = owner, Gid = owner, ModificationTime = DateTimeOffset.UnixEpoch };

    private static async Task WriteTextAsync(TarWriter writer, string name, string text, CancellationToken ct)
    {
        var entry = Entry(TarEntryType.RegularFile, name, File644);
        entry.DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text));
        await writer.WriteEntryAsync(entry, ct);
    }

    /// <summary>An ELF without a PT_INTERP program header needs no dynamic loader.</summary>
    private static bool IsStatic(string path)
    {
        using var file = File.OpenRead(path);
        using var reader = new BinaryReader(file);
        if (reader.ReadUInt32() != 0x464C457F || reader.ReadByte() != 2)
        {
            return false; // not a 64-bit ELF
        }

        file.Position = 0x20;
        var phoff = reader.ReadInt64();
        file.Position = 0x36;
        var phentsize = reader.ReadUInt16();
        var phnum = reader.ReadUInt16();
        for (var i = 0; i < phnum; i++)
        {
            file.Position = phoff + (i * phentsize);
            if (reader.ReadUInt32() == 3)
            {
                return false; // PT_INTERP
            }
        }

        return true;
    }
}
