using System.CommandLine;
using Nanobox.Node.Admin;
using Nanobox.Node.Host;

namespace Nanobox.Node.Cli;

/// <summary>`nanobox version`: this CLI's version and the running agent's.</summary>
public static class VersionCommand
{
    public static Command Build()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var command = new Command("version", "Show the version of this CLI and of the running agent.") { socket, json };
        command.SetAction((parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var asJson = parse.GetValue(json);
            if (!asJson)
            {
                output.WriteLine($"client  {BuildInfo.Version}");
            }

            return ClientOptions.RunAsync(parse, socket, async client =>
            {
                var (status, _) = await client.GetAsync("/v1/status", AdminJsonContext.Default.StatusResponse, cancellationToken);
                await output.WriteLineAsync(asJson
                    ? System.Text.Json.JsonSerializer.Serialize(new VersionResponse(BuildInfo.Version, status.Version), CliJsonContext.Default.VersionResponse)
                    : $"agent   {status.Version}");
                return 0;
            });
        });
        return command;
    }
}
