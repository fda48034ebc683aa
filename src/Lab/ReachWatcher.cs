using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Nanobox.Lab;

/// <summary>Whether a watched TCP port should become reachable (a hole punched) or unreachable (a peer cut).</summary>
public enum ReachGoal
{
    Open,
    Blocked,
}

/// <summary>When one target first reached the goal: wall-clock Unix milliseconds of the probe that saw it, or null if it never did.</summary>
public sealed record ReachSighting(string Target, long? AtUnixMs);

/// <summary>
/// Watches one TCP port on several targets from the namespace this process runs in, each target on its own
/// loop of connects, until each reaches the goal: a connect that succeeds (open) or that gets no answer at
/// all (blocked: the firewall drops it; a reset means a host that answers). A sighting is stamped with the
/// start of the probe that saw it, so it is late by at most one probe period. Times are wall clock so that
/// another process on the same machine can compare them with its own.
/// </summary>
public static class ReachWatcher
{
    public static async Task<ReachSighting[]> WatchAsync(IReadOnlyList<IPAddress> targets, int port, ReachGoal goal,
        TimeSpan probeTimeout, TimeSpan limit, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(limit);
        return await Task.WhenAll(targets.Select(target => WatchOneAsync(target, port, goal, probeTimeout, deadline.Token)));
    }

    private static async Task<ReachSighting> WatchOneAsync(IPAddress target, int port, ReachGoal goal, TimeSpan probeTimeout, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var started = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var open = await ConnectsAsync(target, port, probeTimeout, ct);
            if (open is { } reached && reached == (goal == ReachGoal.Open))
            {
                return new ReachSighting(target.ToString(), started);
            }

            if (open is true || open is null)
            {
                // A refused or accepted connect answers at once: pace the loop so it does not spin.
                await Task.Delay(probeTimeout, ct).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        return new ReachSighting(target.ToString(), null);
    }

    /// <summary>True: connected; false: no answer within the timeout (dropped); null: refused or another error.</summary>
    private static async Task<bool?> ConnectsAsync(IPAddress target, int port, TimeSpan timeout, CancellationToken ct)
    {
        using var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        // A reset on close: no TIME_WAIT piles up over thousands of probes.
        socket.LingerState = new LingerOption(true, 0);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
        attempt.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(target, port), attempt.Token);
            return true;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static string ToJson(IEnumerable<ReachSighting> sightings) => JsonSerializer.Serialize(sightings.ToArray(), Json);

    public static ReachSighting[] FromJson(string json) =>
        JsonSerializer.Deserialize<ReachSighting[]>(json, Json) ?? throw new LabException("the reach watcher printed no result");
}
