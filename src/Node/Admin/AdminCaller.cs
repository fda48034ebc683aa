using Microsoft.AspNetCore.Http;

namespace Nanobox.Node.Admin;

/// <summary>Who sent an admin request, as the kernel told the socket (SO_PEERCRED): what audit lines and releases record.</summary>
public static class AdminCaller
{
    private static readonly object Key = new();

    internal static void Set(HttpContext context, PeerCredentials peer) => context.Items[Key] = peer;

    /// <summary>The caller's credentials; every request that reaches a route has them (the access check reads them first).</summary>
    public static PeerCredentials Of(HttpContext context) =>
        context.Items.TryGetValue(Key, out var peer) && peer is PeerCredentials credentials
            ? credentials
            : throw new InvalidOperationException("the request has no peer credentials");

    /// <summary><c>uid 1000 (alice)</c>: the uid is what the kernel vouches for; the name, from /etc/passwd, is for people.</summary>
    public static string Describe(HttpContext context)
    {
        var uid = Of(context).UserId;
        return UserName(uid) is { } name ? $"uid {uid} ({name})" : $"uid {uid}";
    }

    private static string? UserName(uint uid)
    {
        try
        {
            return File.ReadLines("/etc/passwd")
                .Select(line => line.Split(':'))
                .FirstOrDefault(f => f.Length >= 3 && uint.TryParse(f[2], out var id) && id == uid)?[0];
        }
        catch (IOException)
        {
            return null;
        }
    }
}
