using System.Text.Json;
using Nanobox.Node.Admin;
using Nanobox.Node.Runtime.Instances;

namespace Nanobox.Node.Tests.AppsLab;

using Nanobox.Lab;

/// <summary>What the apps lab tests ask of hosts: deploys from a spec text, `ps`, and the containers as each host's own engine sees them.</summary>
internal static class AppsProbe
{
    /// <summary>Generous: the machine is shared, and an image may first travel node to node.</summary>
    public static readonly TimeSpan Slow = TimeSpan.FromMinutes(4);

    /// <summary>`nanobox app deploy` of <paramref name="spec"/>, written to a file in the host's directory.</summary>
    public static async Task<CommandResult> DeployAsync(LabHost host, string app, string spec)
    {
        var file = Path.Combine(host.Directory, $"{app}.yaml");
        await File.WriteAllTextAsync(file, spec);
        return await host.NanoboxAsync(["app", "deploy", file], Slow, default);
    }

    public static async Task<IReadOnlyList<InstanceRow>> PsAsync(LabHost host, string? app = null)
    {
        var result = (await host.NanoboxAsync(["ps", "--json"], TimeSpan.FromMinutes(1), default)).EnsureSuccess();
        var rows = JsonSerializer.Deserialize(result.Stdout, AdminJsonContext.Default.IReadOnlyListInstanceRow)!;
        return [.. rows.Where(r => app is null || r.App == app)];
    }

    /// <summary>The field names of `nanobox ps --json` rows, as printed.</summary>
    public static async Task<IReadOnlySet<string>> PsFieldsAsync(LabHost host) =>
        JsonDocument.Parse((await host.NanoboxAsync(["ps", "--json"], TimeSpan.FromMinutes(1), default)).EnsureSuccess().Stdout).RootElement
            .EnumerateArray().SelectMany(r => r.EnumerateObject().Select(p => p.Name)).ToHashSet();

    /// <summary>Waits until `ps` on <paramref name="from"/> shows exactly <paramref name="count"/> instances of <paramref name="app"/>, all running and meeting <paramref name="where"/>.</summary>
    public static Task<IReadOnlyList<InstanceRow>> RunningAsync(LabHost from, string app, int count, IReadOnlyList<LabHost> hosts, Func<InstanceRow, bool>? where = null) =>
        ClusterProbe.EventuallyAsync<IReadOnlyList<InstanceRow>>(async () =>
        {
            var rows = await PsAsync(from, app);
            return rows.Count == count && rows.All(r => r.State == "running" && r.OverlayIp is not null && (where?.Invoke(r) ?? true)) ? rows : null;
        }, hosts, Slow, TimeSpan.FromSeconds(1));

    /// <summary>The agent's containers of <paramref name="app"/> on <paramref name="host"/>'s engine, running or not: name -> "id startedAt".</summary>
    public static async Task<Dictionary<string, string>> ContainersAsync(LabHost host, string app)
    {
        // A container the agent removes between the listing and the inspect is listed again, not an error.
        for (var attempt = 1; ; attempt++)
        {
            var ids = (await host.DockerAsync("ps", "-aq", "--filter", $"label=io.nanobox.app={app}")).EnsureSuccess().Stdout
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (ids.Length == 0)
            {
                return [];
            }

            var inspected = await host.DockerAsync(["inspect", "--format", "{{.Name}} {{.Id}} {{.State.StartedAt}} {{.State.Running}}", .. ids]);
            if (inspected.ExitCode != 0 && inspected.Stderr.Contains("No such object", StringComparison.Ordinal) && attempt < 5)
            {
                continue;
            }

            return inspected.EnsureSuccess().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Trim().Split(' ', 2))
                .ToDictionary(p => p[0].TrimStart('/'), p => p[1]);
        }
    }

    public static Task<CommandResult> ExecAsync(LabHost host, string container, params string[] command) =>
        host.DockerAsync(["exec", container, .. command], TimeSpan.FromSeconds(30), CancellationToken.None);

    public static LabHost HostOf(IReadOnlyList<LabHost> hosts, InstanceRow row) => hosts.Single(h => h.Name == row.NodeName);

    /// <summary>Removes <paramref name="app"/> and waits until no host's engine has a container of it.</summary>
    public static async Task RemoveAsync(LabHost from, string app, IReadOnlyList<LabHost> hosts)
    {
        (await from.NanoboxAsync(["app", "rm", app], Slow, default)).EnsureSuccess();
        await ClusterProbe.EventuallyAsync(async () =>
        {
            foreach (var host in hosts)
            {
                if ((await ContainersAsync(host, app)).Count > 0)
                {
                    return null;
                }
            }

            return (await PsAsync(from, app)).Count == 0 ? "gone" : null;
        }, hosts, Slow, TimeSpan.FromSeconds(1));
    }
}
