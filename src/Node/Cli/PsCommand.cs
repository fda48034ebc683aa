using System.CommandLine;
using System.Globalization;
using Nanobox.Node.Admin;
using Nanobox.Node.Runtime.Instances;

namespace Nanobox.Node.Cli;

/// <summary>`nanobox ps`: every app instance in the cluster.</summary>
public static class PsCommand
{
    public static Command Build()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var command = new Command("ps", "List every app instance in the cluster: its node, state, overlay address, image and restarts. Each member answers for its own.") { socket, json };
        command.SetAction((parse, ct) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var (rows, raw) = await client.GetAsync("/v1/instances", AdminJsonContext.Default.IReadOnlyListInstanceRow, ct);
            await parse.InvocationConfiguration.Output.WriteLineAsync(parse.GetValue(json) ? raw : Format(rows));
            return 0;
        }));
        return command;
    }

    private static string Format(IReadOnlyList<InstanceRow> rows)
    {
        if (rows.Count == 0)
        {
            return "No instances. Deploy an app with `nanobox app deploy FILE`.";
        }

        var table = TextTable.Columns(
            ["INSTANCE", "NODE", "STATE", "OVERLAY IP", "IMAGE", "RESTARTS"],
            [.. rows.Select(r => new[]
            {
                r.Key,
                r.NodeName.Length == 0 ? "-" : r.NodeName,
                r.ExitCode is { } code && r.State is InstanceStates.Exited or InstanceStates.CrashLoop ? $"{r.State} ({code.ToString(CultureInfo.InvariantCulture)})" : r.State,
                r.OverlayIp ?? "-",
                r.Image,
                r.Restarts.ToString(CultureInfo.InvariantCulture),
            })]);
        var notes = rows.Where(r => r.Error is not null).Select(r => $"  {r.Key}: {r.Error}").ToList();
        return notes.Count == 0 ? table : $"{table}\n\n{string.Join('\n', notes)}";
    }
}
