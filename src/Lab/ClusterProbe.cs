using System.Text;
using System.Text.Json;

namespace Nanobox.Lab;

/// <summary>
/// Reads a lab cluster through the CLI and waits for it to agree, as an operator would. Shared by the
/// cluster lab tests and the cluster benchmark.
/// </summary>
public static class ClusterProbe
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>`cluster init` on <paramref name="first"/> and `cluster join` of the others through it; returns the token.</summary>
    public static Task<string> FormAsync(LabHost first, params LabHost[] others) => FormAsync([first, .. others], CancellationToken.None);

    /// <summary>`cluster init` on the first host and `cluster join` of the others through it, then waits until all agree; returns the token.</summary>
    public static async Task<string> FormAsync(IReadOnlyList<LabHost> hosts, CancellationToken ct)
    {
        var first = hosts[0];
        var init = JsonDocument.Parse((await first.NanoboxAsync(["cluster", "init", "--json"], null, ct)).EnsureSuccess().Stdout).RootElement;
        var token = init.GetProperty("token").GetString()!;
        foreach (var host in hosts.Skip(1))
        {
            (await JoinAsync(host, first, token, ct)).EnsureSuccess();
        }

        await ConvergeAsync(hosts, expected: hosts.Count, voters: ExpectedVoters(hosts.Count), ct: ct);
        return token;
    }

    /// <summary>How many voters a healthy cluster of <paramref name="members"/> settles on: 3, and 5 once 5 are healthy (VoterPlanner).</summary>
    /// <summary>Stops every host's node and starts it again with <paramref name="env"/> (settings given by environment).</summary>
    public static async Task RestartAllAsync(IEnumerable<LabHost> hosts, IReadOnlyDictionary<string, string> env, CancellationToken ct = default)
    {
        foreach (var host in hosts)
        {
            await host.Node.StopAsync(ct: ct);
            await host.Node.StartAsync(env: env, ct: ct);
            await host.Node.WaitReadyAsync(ct: ct);
        }
    }

    public static int ExpectedVoters(int members) => members < 3 ? members : members < 5 ? 3 : 5;

    /// <summary>`cluster join` of <paramref name="host"/> through <paramref name="seed"/>'s address.</summary>
    public static Task<CommandResult> JoinAsync(LabHost host, LabHost seed, string token, CancellationToken ct = default) =>
        host.NanoboxAsync(["cluster", "join", seed.Address.ToString(), "--token", token], null, ct);

    public static async Task<JsonElement?> ClusterStatusAsync(LabHost host, CancellationToken ct = default)
    {
        var status = JsonDocument.Parse((await host.NanoboxAsync(["status", "--json"], null, ct)).EnsureSuccess().Stdout).RootElement;
        return status.TryGetProperty("cluster", out var cluster) && cluster.ValueKind == JsonValueKind.Object ? cluster : null;
    }

    /// <summary>The current join token (`cluster token --json`).</summary>
    public static async Task<string> TokenAsync(LabHost host, CancellationToken ct = default) =>
        TokenOf((await host.NanoboxAsync(["cluster", "token", "--json"], null, ct)).EnsureSuccess());

    /// <summary>One `cluster token --rotate --json`: a replicated write, committed through Raft on the leader.</summary>
    public static Task<CommandResult> RotateTokenAsync(LabHost host, CancellationToken ct = default) =>
        host.NanoboxAsync(["cluster", "token", "--rotate", "--json"], null, ct);

    /// <summary>Repeats <see cref="RotateTokenAsync"/> every <paramref name="interval"/> until a write commits; returns the new token.</summary>
    public static Task<string> CommitWriteAsync(LabHost host, TimeSpan? interval = null, TimeSpan? timeout = null, CancellationToken ct = default) =>
        EventuallyAsync(async () => await RotateTokenAsync(host, ct) is { Succeeded: true } rotated ? TokenOf(rotated) : null,
            [host], timeout, interval, ct);

    public static string TokenOf(CommandResult result) =>
        JsonDocument.Parse(result.Stdout).RootElement.GetProperty("token").GetString()!;

    public static IEnumerable<string> Ids(IEnumerable<ClusterMember> rows) => rows.Select(r => r.Id).Order();

    /// <summary>`members --json` on <paramref name="host"/>; empty when the command fails (e.g. the agent is down).</summary>
    public static async Task<IReadOnlyList<ClusterMember>> MembersAsync(LabHost host, CancellationToken ct = default)
    {
        var result = await host.NanoboxAsync(["members", "--json"], null, ct);
        return result.ExitCode == 0 ? ClusterMember.ParseAll(result.Stdout) : [];
    }

    /// <summary>The members list when every host reports the same ids, all alive, the same leader and voter count; else null.</summary>
    public static async Task<IReadOnlyList<ClusterMember>?> AgreedMembersAsync(IReadOnlyList<LabHost> hosts, int expected, int voters, CancellationToken ct = default)
    {
        IReadOnlyList<ClusterMember>? first = null;
        foreach (var host in hosts)
        {
            var rows = await MembersAsync(host, ct);
            if (rows.Count != expected || rows.Any(r => !r.IsAlive) || Leader(rows) is null || rows.Count(r => r.IsVoter) != voters)
            {
                return null;
            }

            if (first is not null && (!Ids(first).SequenceEqual(Ids(rows)) || Leader(first) != Leader(rows)))
            {
                return null;
            }

            first ??= rows;
        }

        return first;
    }

    /// <summary>Waits until <see cref="AgreedMembersAsync"/> holds; on timeout reports what <paramref name="report"/> (default: the same hosts) see.</summary>
    public static Task<IReadOnlyList<ClusterMember>> ConvergeAsync(IReadOnlyList<LabHost> hosts, int expected, int voters,
        IEnumerable<LabHost>? report = null, TimeSpan? timeout = null, CancellationToken ct = default) =>
        EventuallyAsync(() => AgreedMembersAsync(hosts, expected, voters, ct), report ?? hosts, timeout, ct: ct);

    /// <summary>The id of the one member marked leader, or null when none or several are.</summary>
    public static string? Leader(IReadOnlyList<ClusterMember> rows) =>
        rows.Count(r => r.Leader) == 1 ? rows.Single(r => r.Leader).Id : null;

    /// <summary>The lab host whose node is the leader in <paramref name="rows"/>.</summary>
    public static LabHost LeaderHost(IEnumerable<LabHost> hosts, IReadOnlyList<ClusterMember> rows) =>
        hosts.Single(h => h.Name == rows.Single(r => r.Leader).Name);

    /// <summary>Polls <paramref name="probe"/> until it answers; on timeout says what every host in <paramref name="hosts"/> reports.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe, IEnumerable<LabHost>? hosts = null,
        TimeSpan? timeout = null, TimeSpan? interval = null, CancellationToken ct = default)
    {
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(await DescribeAsync($"the cluster did not converge within {limit.TotalSeconds} s", hosts ?? [], ct));
            }

            await Task.Delay(interval ?? DefaultInterval, ct);
        }
    }

    private static async Task<string> DescribeAsync(string headline, IEnumerable<LabHost> hosts, CancellationToken ct)
    {
        var report = new StringBuilder(headline);
        foreach (var host in hosts)
        {
            var members = await host.NanoboxAsync(["members"], null, ct);
            report.Append($"\n--- {host.Name} members (exit {members.ExitCode}):\n{members.Stdout}{members.Stderr}\n--- {host.Name} log tail:\n{host.LogTail(25)}");
        }

        return report.ToString();
    }
}
