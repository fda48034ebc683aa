using System.CommandLine;
using Nanobox.Node.Admin;
using Nanobox.Node.Runtime.Instances;

namespace Nanobox.Node.Cli;

/// <summary>`nanobox status`: what the local node is and how it is doing.</summary>
public static class StatusCommand
{
    public static Command Build()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var command = new Command("status", "Show this node: id, name, version, uptime, data dir, advertise address and its cluster.") { socket, json };
        command.SetAction((parse, cancellationToken) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var (status, raw) = await client.GetAsync("/v1/status", AdminJsonContext.Default.StatusResponse, cancellationToken);
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                await output.WriteLineAsync(raw);
                return 0;
            }

            List<(string, string)> rows =
            [
                ("node", $"{status.Name} ({status.NodeId})"),
                ("version", status.Version),
                ("uptime", TextTable.Duration(TimeSpan.FromSeconds(status.UptimeSeconds))),
                ("advertise", status.Advertise),
                ("data dir", status.DataDir),
                ("socket", client.SocketPath),
                ("cluster", status.Cluster is { } cluster
                    ? $"{cluster.Id}: {cluster.Members} members, {cluster.Voters} voters, leader {cluster.Leader ?? "unknown"}, {(cluster.Healthy ? "healthy" : "NOT healthy")}"
                    : "none (standalone: `nanobox cluster init` or `nanobox cluster join`)"),
            ];
            if (status.Runtime is { } runtime)
            {
                rows.Add(("docker", runtime.Docker));
                rows.Add(("apps", runtime.State == RuntimeStatus.Ready
                    ? $"{runtime.Running} of {runtime.Placed} instances placed here running"
                    : $"{runtime.State}: {runtime.Running} of {runtime.Placed} instances placed here running"));
                rows.AddRange(runtime.WaitingFor.Select(w => ("  waiting for", w)));
            }

            await output.WriteLineAsync(TextTable.Render(rows));
            return 0;
        }));
        return command;
    }
}
