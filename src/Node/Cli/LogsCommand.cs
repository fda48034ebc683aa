using System.CommandLine;
using System.Globalization;
using Nanobox.Node.Admin;
using Nanobox.Node.Host;

namespace Nanobox.Node.Cli;

/// <summary>`nanobox logs [APP/]KIND.NAME[#INDEX] [--follow] [--tail N]`.</summary>
public static class LogsCommand
{
    public static Command Build()
    {
        var socket = ClientOptions.Socket();
        var target = new Argument<string>("COMPONENT")
        {
            Description = "KIND.NAME (e.g. web.main) when one app has it, else APP/KIND.NAME; #INDEX for one instance (e.g. shop/web.main#0).",
        };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing lines as they are written, until Ctrl-C." };
        var tail = new Option<int?>("--tail") { Description = "Only the last N lines of each instance.", HelpName = "N" };
        var command = new Command("logs", "Print a component's output (stdout and stderr), from whichever node runs each instance; lines carry the instance when there are several.")
        {
            target, follow, tail, socket,
        };
        command.SetAction((parse, ct) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var query = $"/v1/logs?target={Uri.EscapeDataString(parse.GetValue(target)!)}&follow={(parse.GetValue(follow) ? "true" : "false")}"
                + (parse.GetValue(tail) is { } n ? $"&tail={n.ToString(CultureInfo.InvariantCulture)}" : "");
            var (output, error) = (parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
            var several = false;
            var failed = false;
            await foreach (var line in client.StreamLinesAsync(
                query,
                AdminJsonContext.Default.AppLogLine,
                headers => several = headers.TryGetValues(AppsApi.InstancesHeader, out var count) && count.FirstOrDefault() is not (null or "1"),
                ct))
            {
                if (line.Error is { } problem)
                {
                    failed = true;
                    await error.WriteLineAsync($"nanobox: {line.Instance}: {problem}");
                    continue;
                }

                // One instance prints as `docker logs` would; several carry their instance.
                await (line.Stream == "stderr" ? error : output).WriteLineAsync(several ? $"[{line.Instance}] {line.Text}" : line.Text);
            }

            return failed ? ExitCodes.Failed : 0;
        }));
        return command;
    }
}
