using System.Diagnostics;
using System.Net.Sockets;

namespace Nanobox.Bench;

/// <summary>
/// One standalone agent started from a binary in a throwaway dir, timed from exec: READY=1 on its
/// notify socket, then the first answered GET /v1/status on its admin socket.
/// </summary>
public sealed class AgentUnderTest : IAsyncDisposable
{
    private readonly string _dir;
    private readonly Socket _notify;
    private readonly Process _process;
    private readonly long _started;

    private AgentUnderTest(string dir, Socket notify, Process process, long started)
    {
        _dir = dir;
        _notify = notify;
        _process = process;
        _started = started;
    }

    public int Pid => _process.Id;

    public string SocketPath => Path.Combine(_dir, "admin.sock");

    public static AgentUnderTest Start(string binary)
    {
        var dir = Directory.CreateTempSubdirectory("nanobox-bench-").FullName;
        var config = Path.Combine(dir, "nanobox.toml");
        File.WriteAllText(config, "[node]\nname = \"bench\"\n");
        var notifyPath = Path.Combine(dir, "notify.sock");
        var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));

        var info = new ProcessStartInfo(binary)
        {
            ArgumentList = { "agent", "--config", config, "--data-dir", Path.Combine(dir, "data"), "--socket", Path.Combine(dir, "admin.sock"), "--log-level", "warning" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["NOTIFY_SOCKET"] = notifyPath;
        var started = Stopwatch.GetTimestamp();
        var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {binary}");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new AgentUnderTest(dir, notify, process, started);
    }

    /// <summary>Time from exec until the agent said READY=1.</summary>
    public async Task<TimeSpan> WaitReadyAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[512];
        while (true)
        {
            var received = await _notify.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (System.Text.Encoding.UTF8.GetString(buffer, 0, received).Split('\n').Contains("READY=1"))
            {
                return Stopwatch.GetElapsedTime(_started);
            }
        }
    }

    /// <summary>Time from exec until a status request was answered (connect, request, response).</summary>
    public async Task<TimeSpan> WaitAnsweringAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), cancellationToken);
                await socket.SendAsync("GET /v1/status HTTP/1.1\r\nHost: nanobox\r\nConnection: close\r\n\r\n"u8.ToArray(), cancellationToken);
                var buffer = new byte[4096];
                var received = await socket.ReceiveAsync(buffer, cancellationToken);
                if (received > 12 && System.Text.Encoding.ASCII.GetString(buffer, 0, 12) == "HTTP/1.1 200")
                {
                    return Stopwatch.GetElapsedTime(_started);
                }
            }
            catch (SocketException)
            {
                // Not listening yet.
            }

            await Task.Delay(1, cancellationToken);
        }
    }

    /// <summary>Resident set size now, from /proc.</summary>
    public long ResidentBytes()
    {
        var line = File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
        _notify.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
