using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Nanobox.Lab;

/// <summary>
/// Probes ports of a target from the network namespace this process runs in (the lab CLI re-executes
/// itself under nsenter for that). TCP is a connect scan: many non-blocking connects in flight, each
/// given up after the timeout, so a target that drops everything costs rounds of timeouts, not a
/// timeout per port. UDP sends a datagram on a connected socket: the kernel reports an ICMP port
/// unreachable to it as ECONNREFUSED on the next receive.
/// </summary>
internal static class PortScanner
{
    // Headroom below the open-files limit for the runtime's own descriptors.
    private const int ReservedDescriptors = 256;
    private static readonly byte[] UdpPayload = "nanobox-lab scan\n"u8.ToArray();

    public static async Task<ScanResult> ScanAsync(IPAddress target, ScanRequest request, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(request.Concurrency, 1);
        var concurrency = Math.Min(request.Concurrency, Math.Max(1, OpenFilesLimit() - ReservedDescriptors));
        var clock = Stopwatch.StartNew();
        var tcp = await ProbeAllAsync(request.Tcp, concurrency, (port, t) => ProbeTcpAsync(target, port, request.Timeout, t), ct);
        var udp = await ProbeAllAsync(request.Udp, concurrency, (port, t) => ProbeUdpAsync(target, port, request.Timeout, t), ct);
        return new ScanResult(target.ToString(), clock.Elapsed, [.. tcp, .. udp]);
    }

    /// <summary>
    /// The first port alone, then the rest with <paramref name="concurrency"/> in flight. Until the target's
    /// MAC is resolved the kernel queues only a few packets for it and drops the rest, which would read
    /// as filtered: the lone first probe resolves it.
    /// </summary>
    private static async Task<PortResult[]> ProbeAllAsync(IReadOnlyList<int> ports, int concurrency,
        Func<int, CancellationToken, Task<PortResult>> probe, CancellationToken ct)
    {
        var results = new PortResult[ports.Count];
        if (ports.Count == 0)
        {
            return results;
        }

        results[0] = await probe(ports[0], ct);
        var next = 0;
        async Task Worker()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < ports.Count)
            {
                results[i] = await probe(ports[i], ct);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Math.Min(concurrency, ports.Count - 1)).Select(_ => Task.Run(Worker, ct)));
        return results;
    }

    private static Task<PortResult> ProbeTcpAsync(IPAddress target, int port, TimeSpan timeout, CancellationToken ct) =>
        ProbeAsync(ScanProtocol.Tcp, port, timeout, ct, async deadline =>
        {
            using var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            // Close an open port's connection with a reset: no TIME_WAIT left to use up local ports over repeated scans.
            socket.LingerState = new LingerOption(true, 0);
            await socket.ConnectAsync(new IPEndPoint(target, port), deadline);
            return "syn-ack";
        });

    private static Task<PortResult> ProbeUdpAsync(IPAddress target, int port, TimeSpan timeout, CancellationToken ct) =>
        ProbeAsync(ScanProtocol.Udp, port, timeout, ct, async deadline =>
        {
            using var socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            // Connected, so that ICMP errors about this peer are reported to this socket.
            socket.Connect(new IPEndPoint(target, port));
            await socket.SendAsync(UdpPayload, SocketFlags.None, deadline);
            await socket.ReceiveAsync(new byte[1], SocketFlags.None, deadline);
            return "udp-response";
        });

    /// <summary>
    /// Runs one probe under its own deadline and reads the outcome: <paramref name="answer"/> returning is
    /// open; refused (reset, port unreachable) is closed; silence is filtered for TCP and open|filtered for
    /// UDP, which expects no answer from an open port either.
    /// </summary>
    private static async Task<PortResult> ProbeAsync(ScanProtocol protocol, int port, TimeSpan timeout, CancellationToken ct,
        Func<CancellationToken, Task<string>> answer)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            return new PortResult(protocol, port, PortState.Open, await answer(deadline.Token));
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return new PortResult(protocol, port, PortState.Closed, protocol == ScanProtocol.Tcp ? "reset" : "port-unreachable");
        }
        catch (Exception ex) when (Silent(ex, deadline, ct))
        {
            return new PortResult(protocol, port, protocol == ScanProtocol.Tcp ? PortState.Filtered : PortState.OpenFiltered, "no-response");
        }
        catch (SocketException ex) when (Unreachable(ex) is { } reason)
        {
            return new PortResult(protocol, port, PortState.Filtered, reason);
        }
    }

    // Our deadline, not the caller's cancellation: the port stayed silent. A cancelled socket operation
    // surfaces either as OperationCanceledException or as an aborted SocketException.
    private static bool Silent(Exception ex, CancellationTokenSource deadline, CancellationToken ct) =>
        !ct.IsCancellationRequested && deadline.IsCancellationRequested
        && ex is OperationCanceledException or SocketException { SocketErrorCode: SocketError.OperationAborted };

    /// <summary>
    /// ICMP errors other than port unreachable (admin-prohibited from a `reject`, host unreachable) mean a
    /// filter answered, as nmap reads them. The kernel may count the first such error on a connecting TCP
    /// socket as soft and wait for a retransmit (IPv6 does), so a reject can also read "no-response":
    /// filtered all the same. Other errors (no local port, too many files) are the scanner's own trouble
    /// and must not pass for a port state: they propagate.
    /// </summary>
    private static string? Unreachable(SocketException ex) => ex.SocketErrorCode switch
    {
        SocketError.HostUnreachable => "host-unreachable",
        SocketError.NetworkUnreachable => "network-unreachable",
        SocketError.HostDown => "host-down",
        SocketError.AccessDenied => "admin-prohibited", // EACCES: ICMPv6 administratively prohibited (or our own output chain)
        _ => null,
    };

    /// <summary>The soft RLIMIT_NOFILE, from /proc (the runtime raises it to the hard limit at start-up).</summary>
    private static int OpenFilesLimit()
    {
        var line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var fields = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields is { Length: > 3 } && int.TryParse(fields[3], out var soft) ? soft : 1024;
    }
}
