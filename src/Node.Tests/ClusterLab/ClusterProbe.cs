using System.Text.Json;

namespace Nanobox.Node.Tests.ClusterLab;

using Nanobox.Lab;

/// <summary>Reads a lab cluster through the CLI and waits for it to agree, as an operator would.</summary>
public static class ClusterProbe
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(20);

    /// <summary>`cluster init` on <paramref name="first"/> and `cluster join` of the others through it; returns the token.</summary>
    public static async Task<string> FormAsync(LabHost first, params LabHost[] others)
    {
        var init = JsonDocument.Parse((await first.NanoboxAsync("cluster", "init", "--json")).EnsureSuccess().Stdout).RootElement;
        var token = init.GetProperty("token").GetString()!;
        foreach (var host in others)
        {
            (await host.NanoboxAsync("cluster", "join", first.Address.ToString(), "--token", token)).EnsureSuccess();
        }

        LabHost[] all = [first, .. others];
        await EventuallyAsync(() => AgreedMembersAsync(all, expected: all.Length, voters: Math.Min(3, all.Length)), all);
        return token;
    }

    public static async Task<JsonElement?> ClusterStatusAsync(LabHost host)
    {
        var status = JsonDocument.Parse((await host.NanoboxAsync("status", "--json")).EnsureSuccess().Stdout).RootElement;
        return status.TryGetProperty("cluster", out var cluster) && cluster.ValueKind == JsonValueKind.Object ? cluster : null;
    }

    public static IEnumerable<string> Ids(IReadOnlyList<JsonElement> rows) => rows.Select(r => r.GetProperty("id").GetString()!).Order();

    public static async Task<IReadOnlyList<JsonElement>> MembersAsync(LabHost host)
    {
        var result = await host.NanoboxAsync("members", "--json");
        return result.ExitCode == 0 ? JsonDocument.Parse(result.Stdout).RootElement.EnumerateArray().ToList() : [];
    }

    /// <summary>The members list when every host reports the same ids, all alive, the same leader and voter count; else null.</summary>
    public static async Task<IReadOnlyList<JsonElement>?> AgreedMembersAsync(LabHost[] hosts, int expected, int voters)
    {
        IReadOnlyList<JsonElement>? first = null;
        foreach (var host in hosts)
        {
            var rows = await MembersAsync(host);
            if (rows.Count != expected
                || rows.Any(r => r.GetProperty("state").GetString() != "alive")
                || rows.Count(r => r.GetProperty("leader").GetBoolean()) != 1
                || rows.Count(r => r.GetProperty("role").GetString() == "voter") != voters)
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

    public static string? Leader(IReadOnlyList<JsonElement> rows) =>
        rows.Single(r => r.GetProperty("leader").GetBoolean()).GetProperty("id").GetString();

    /// <summary>Polls <paramref name="probe"/> until it answers; on timeout says what every lab host reports.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe, IEnumerable<LabHost>? hosts = null)
    {
        var deadline = DateTime.UtcNow + Converge;
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                var report = new System.Text.StringBuilder($"the cluster did not converge within {Converge.TotalSeconds} s");
                foreach (var host in hosts ?? [])
                {
                    var members = await host.NanoboxAsync("members");
                    report.Append($"\n--- {host.Name} members (exit {members.ExitCode}):\n{members.Stdout}{members.Stderr}\n--- {host.Name} log tail:\n{string.Join('\n', host.ReadLog().Split('\n').TakeLast(25))}");
                }

                throw new TimeoutException(report.ToString());
            }

            await Task.Delay(250);
        }
    }
}
