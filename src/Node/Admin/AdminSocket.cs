using System.Net.Sockets;
using Nanobox.Node.Host;

namespace Nanobox.Node.Admin;

/// <summary>The admin endpoint's Unix socket file: made safe to bind before Kestrel starts, locked down after.</summary>
public static class AdminSocket
{
    public const UnixFileMode SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;

    /// <summary>
    /// Creates the socket's directory if missing (0750, group 'nanobox' where it exists, like the unit's
    /// RuntimeDirectory) and removes a stale socket file left by a dead agent.
    /// </summary>
    /// <exception cref="ConfigException">A live agent already answers on the path, or the path cannot be used.</exception>
    public static void PrepareForBind(string path, uint? nanoboxGroupId)
    {
        var directory = Path.GetDirectoryName(path)!;
        try
        {
            if (!Directory.Exists(directory))
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                    | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
                GiveToGroup(directory, nanoboxGroupId);
            }

            if (!File.Exists(path))
            {
                return;
            }

            if (IsAnswering(path))
            {
                throw new ConfigException($"Another nanobox agent is already serving {path}. Stop it first, or give this agent its own --socket.");
            }

            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"Cannot use the admin socket path {path}: {ex.Message} Run the agent as root or choose another --socket.", ex);
        }
    }

    /// <summary>Sets mode 0660 and, where the 'nanobox' group exists, that group.</summary>
    public static void LockDown(string path, uint? nanoboxGroupId)
    {
        File.SetUnixFileMode(path, SocketMode);
        GiveToGroup(path, nanoboxGroupId);
    }

    private static void GiveToGroup(string path, uint? nanoboxGroupId)
    {
        if (nanoboxGroupId is { } gid && Libc.chown(path, -1, (int)gid) != 0)
        {
            throw new IOException($"Cannot give {path} to the '{UnixGroups.NanoboxGroup}' group (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}).");
        }
    }

    private static bool IsAnswering(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
