using System.Text;
using Nanobox.Node.Host;

namespace Nanobox.Node.Runtime.Docker;

/// <summary>
/// Where the agent finds its host's Docker engine: a Unix socket, <c>unix:///PATH</c> (the agent's
/// <c>--docker</c> option). Remote engines (tcp, ssh) are refused: the agent manages its own host only.
/// </summary>
public sealed record DockerEndpoint
{
    public const string Default = "unix:///var/run/docker.sock";

    private const string Scheme = "unix://";

    /// <summary>sun_path holds 108 bytes with the terminating NUL.</summary>
    private const int MaxSocketPathBytes = 107;

    private DockerEndpoint(string socketPath) => SocketPath = socketPath;

    public string SocketPath { get; }

    public Uri Uri => new(ToString());

    /// <exception cref="ConfigException">Not a <c>unix:///PATH</c> endpoint; the message shows the form to use.</exception>
    public static DockerEndpoint Parse(string value)
    {
        var path = value.StartsWith(Scheme, StringComparison.Ordinal) ? value[Scheme.Length..] : null;
        if (path is null || !path.StartsWith('/') || path.EndsWith('/') || path.IndexOfAny(['\0', '?', '#', '%']) >= 0
            || path[1..].Split('/').Any(s => s.Length == 0 || s is "." or ".."))
        {
            throw new ConfigException($"--docker '{value}' is not an endpoint the agent can use: give the local engine's socket as unix:///PATH (default {Default}); tcp://, ssh:// and other remote engines are not supported.");
        }

        return Encoding.UTF8.GetByteCount(path) <= MaxSocketPathBytes
            ? new DockerEndpoint(path)
            : throw new ConfigException($"--docker '{value}': the socket path is longer than the {MaxSocketPathBytes} bytes a Unix socket allows; use a shorter path (e.g. a symlink).");
    }

    public override string ToString() => Scheme + SocketPath;
}
