namespace Nanobox.Lab;

/// <summary>
/// A network namespace of its own (`ip netns add PREFIX-RANDOM`) for a kernel test or benchmark, removed
/// on dispose with everything in it: links created inside die with it, so nothing outlives the run and
/// nothing touches the root namespace. Commands run inside through `ip -n`, `bridge -n` and `nsenter --net`.
/// </summary>
public sealed class ScratchNamespace : IAsyncDisposable
{
    private ScratchNamespace(string name) => Name = name;

    public string Name { get; }

    /// <summary>/run/netns/NAME, what <c>setns</c> and <c>nsenter --net=</c> take.</summary>
    public string Path => Netns.PathOf(Name);

    /// <param name="prefix">Names start with it; keep it out of the lab's own "nbx" + hex prefixes (e.g. "nbxt").</param>
    public static async Task<ScratchNamespace> CreateAsync(string prefix, CancellationToken ct = default)
    {
        Tools.EnsureRoot();
        var name = $"{prefix}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}";
        await Netns.AddAsync(name, ct);
        var scratch = new ScratchNamespace(name);
        try
        {
            // Loopback up, as in any real host: some tools (ping to the own address) need it.
            (await scratch.IpAsync("link", "set", "lo", "up")).EnsureSuccess();
            return scratch;
        }
        catch
        {
            await scratch.DisposeAsync();
            throw;
        }
    }

    /// <summary>`ip -n NAME ARGS`.</summary>
    public Task<CommandResult> IpAsync(params string[] args) => ProcessRunner.RunAsync(Tools.Ip, ["-n", Name, .. args]);

    /// <summary>`bridge -n NAME ARGS`.</summary>
    public Task<CommandResult> BridgeAsync(params string[] args) => ProcessRunner.RunAsync(Tools.Bridge, ["-n", Name, .. args]);

    /// <summary>`ip`/`bridge` (<paramref name="tool"/>) in batch mode, one command per line on standard input.</summary>
    public Task<CommandResult> BatchAsync(string tool, IEnumerable<string> commands) =>
        ProcessRunner.RunAsync(tool == "bridge" ? Tools.Bridge : Tools.Ip, ["-n", Name, "-batch", "-"],
            stdin: (s, t) => s.WriteAsync(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', commands) + "\n"), t).AsTask());

    /// <summary>Runs a program inside the namespace (`nsenter --net=PATH -- FILE ARGS`).</summary>
    public Task<CommandResult> RunAsync(string file, params string[] args) =>
        Netns.RunAsync(Name, file, args, timeout: null, CancellationToken.None);

    public async ValueTask DisposeAsync() => await Netns.DeleteAsync(Name, CancellationToken.None);
}
