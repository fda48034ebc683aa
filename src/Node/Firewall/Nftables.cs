using System.Runtime.InteropServices;

namespace Nanobox.Node.Firewall;

/// <summary>
/// libnftables, in-process: one command buffer is one kernel transaction (all of it applies or none),
/// and a set-element update costs a fraction of a millisecond instead of an `nft` process per change.
/// Not thread-safe by itself (the context buffers output): callers serialise, as <see cref="FirewallKernel"/> does.
/// </summary>
public sealed partial class Nftables : IDisposable
{
    private const string Library = "libnftables.so.1";

    /// <summary>NFT_CTX_OUTPUT_JSON: listings come back as libnftables' JSON schema.</summary>
    private const uint OutputJson = 1 << 4;

    private readonly IntPtr _context;

    private Nftables(IntPtr context) => _context = context;

    /// <exception cref="FirewallException">libnftables is not installed or cannot create a context.</exception>
    public static Nftables Open()
    {
        IntPtr context;
        try
        {
            context = nft_ctx_new(0);
        }
        catch (DllNotFoundException ex)
        {
            throw new FirewallException($"{Library} is not installed: the firewall needs it. Install it with `apt install libnftables1`.", ex);
        }

        if (context == IntPtr.Zero)
        {
            throw new FirewallException("libnftables could not create a context (out of memory?)");
        }

        nft_ctx_buffer_output(context);
        nft_ctx_buffer_error(context);
        return new Nftables(context);
    }

    /// <summary>Runs <paramref name="commands"/> as one transaction.</summary>
    /// <returns>What the commands printed (listings), as text.</returns>
    /// <exception cref="FirewallException">The kernel or the parser refused it; nothing was changed.</exception>
    public string Run(string commands) => Execute(commands, json: false, dryRun: false);

    /// <summary>Runs a listing command and returns its JSON output.</summary>
    public string RunJson(string commands) => Execute(commands, json: true, dryRun: false);

    /// <summary>Parses and validates <paramref name="commands"/> against the kernel without committing (`nft -c`).</summary>
    public void Check(string commands) => Execute(commands, json: false, dryRun: true);

    private string Execute(string commands, bool json, bool dryRun)
    {
        nft_ctx_output_set_flags(_context, json ? OutputJson : 0);
        nft_ctx_set_dry_run(_context, dryRun);
        var status = nft_run_cmd_from_buffer(_context, commands);
        var output = Marshal.PtrToStringUTF8(nft_ctx_get_output_buffer(_context)) ?? "";
        var error = Marshal.PtrToStringUTF8(nft_ctx_get_error_buffer(_context)) ?? "";
        return status == 0
            ? output
            : throw new FirewallException($"nftables refused the change: {(error.Length > 0 ? error.Trim() : $"status {status}")}");
    }

    public void Dispose() => nft_ctx_free(_context);

    [LibraryImport(Library)]
    private static partial IntPtr nft_ctx_new(uint flags);

    [LibraryImport(Library)]
    private static partial void nft_ctx_free(IntPtr context);

    [LibraryImport(Library)]
    private static partial int nft_ctx_buffer_output(IntPtr context);

    [LibraryImport(Library)]
    private static partial int nft_ctx_buffer_error(IntPtr context);

    [LibraryImport(Library)]
    private static partial IntPtr nft_ctx_get_output_buffer(IntPtr context);

    [LibraryImport(Library)]
    private static partial IntPtr nft_ctx_get_error_buffer(IntPtr context);

    [LibraryImport(Library)]
    private static partial void nft_ctx_output_set_flags(IntPtr context, uint flags);

    [LibraryImport(Library)]
    private static partial void nft_ctx_set_dry_run(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool dry);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int nft_run_cmd_from_buffer(IntPtr context, string buffer);
}

/// <summary>The firewall could not do what was asked; the message says why and, where there is one, the fix.</summary>
public sealed class FirewallException(string message, Exception? inner = null) : Exception(message, inner);
