using System.Runtime.ExceptionServices;
using static Nanobox.Node.Overlay.Netlink.LinuxSockets;

namespace Nanobox.Node.Overlay.Netlink;

/// <summary>
/// Runs a short action inside another network namespace: on a dedicated thread, open(path) then
/// setns(CLONE_NEWNET), the action, then setns back to the namespace saved first. setns moves only the
/// calling thread, and a socket stays in the namespace it was created in, so sockets made by the action
/// work there from any thread afterwards. The thread ends when the action does; if it could not get back,
/// it runs nothing else, so no other code ever runs in the wrong namespace.
/// </summary>
internal static class NetworkNamespace
{
    /// <summary>The calling thread's own namespace (not the process's: setns is per thread).</summary>
    public const string CurrentThreadPath = "/proc/thread-self/ns/net";

    /// <summary>Runs <paramref name="action"/> inside the namespace at <paramref name="netnsPath"/> (e.g. /run/netns/NAME).</summary>
    /// <returns>The action's result, and whether the thread verifiably returned to its original namespace before ending.</returns>
    /// <exception cref="NetlinkException">The path is not a network namespace, or entering it failed.</exception>
    public static (T Result, bool Returned) Run<T>(string netnsPath, Func<T> action)
    {
        (T Result, bool Returned) outcome = default;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                outcome = RunHere(netnsPath, action);
            }
            catch (Exception ex)
            {
                failure = ExceptionDispatchInfo.Capture(ex);
            }
        })
        {
            IsBackground = true,
            Name = "netns " + netnsPath,
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return outcome;
    }

    /// <summary>The inode text of the calling thread's namespace, e.g. "net:[4026531840]".</summary>
    public static string CurrentThreadIdentity() =>
        new FileInfo(CurrentThreadPath).LinkTarget ?? throw new NetlinkException($"netlink: cannot read {CurrentThreadPath}");

    private static (T Result, bool Returned) RunHere<T>(string netnsPath, Func<T> action)
    {
        var home = CurrentThreadIdentity();
        using var original = Open(CurrentThreadPath, "this thread's network namespace");
        using var target = Open(netnsPath, "network namespace");
        if (setns(target, CloneNewNet) != 0)
        {
            var errno = LastErrno;
            throw NetlinkException.Failed($"entering network namespace {netnsPath}{(errno == 22 ? " (is it a network namespace file, like /run/netns/NAME?)" : "")}", errno);
        }

        T result;
        try
        {
            result = action();
        }
        catch
        {
            ReturnHome(original, home);
            throw;
        }

        return (result, ReturnHome(original, home));
    }

    private static bool ReturnHome(FileDescriptor original, string home) =>
        setns(original, CloneNewNet) == 0 && CurrentThreadIdentity() == home;

    private static FileDescriptor Open(string path, string what)
    {
        var fd = open(path, OReadOnly | OCloexec);
        return fd >= 0 ? new FileDescriptor(fd) : throw NetlinkException.Failed($"opening {what} {path}", LastErrno);
    }
}
