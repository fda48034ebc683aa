using System.Net.Sockets;
using System.Text;

namespace Nanobox.Node.Host;

/// <summary>
/// sd_notify(3): tells systemd that a Type=notify service is ready or stopping by a datagram to
/// $NOTIFY_SOCKET. Does nothing when the variable is unset (not run by systemd).
/// </summary>
public sealed class SystemdNotifier
{
    public const string SocketVariable = "NOTIFY_SOCKET";

    private readonly string? _socketPath;

    public SystemdNotifier(string? socketPath) => _socketPath = socketPath;

    public static SystemdNotifier FromEnvironment() => new(Environment.GetEnvironmentVariable(SocketVariable));

    public bool IsEnabled => !string.IsNullOrEmpty(_socketPath);

    public void Ready(string status) => Send($"READY=1\nSTATUS={status}\nMAINPID={Environment.ProcessId}");

    public void Stopping() => Send("STOPPING=1");

    private void Send(string message)
    {
        if (!IsEnabled)
        {
            return;
        }

        // A leading '@' names a socket in the abstract namespace, written as a leading NUL byte.
        var path = _socketPath![0] == '@' ? "\0" + _socketPath[1..] : _socketPath;
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.SendTo(Encoding.UTF8.GetBytes(message), new UnixDomainSocketEndPoint(path));
    }
}
