using System.CommandLine;
using Nanobox.Node.Host;

namespace Nanobox.Node.Cli;

/// <summary>`nanobox agent`: runs the node in the foreground (systemd runs this).</summary>
public static class AgentCommand
{
    public static Command Build()
    {
        var config = new Option<string?>("--config") { Description = $"Config file (env {AgentOptionsResolver.ConfigVariable}; default {AgentOptions.DefaultConfigPath}, optional).", HelpName = "FILE" };
        var dataDir = new Option<string?>("--data-dir") { Description = $"Where the node keeps its state (env {AgentOptionsResolver.DataDirVariable}, key node.data_dir; default {AgentOptions.DefaultDataDir}).", HelpName = "DIR" };
        var socket = new Option<string?>("--socket") { Description = $"The admin socket to serve (env {AgentOptionsResolver.SocketVariable}, key admin.socket; default {AgentOptions.DefaultSocketPath}).", HelpName = "PATH" };
        var advertise = new Option<string?>("--advertise") { Description = $"The address peers use (env {AgentOptionsResolver.AdvertiseVariable}, key node.advertise; default: the address of the default route's interface).", HelpName = "IP" };
        var name = new Option<string?>("--name") { Description = $"The node's name (env {AgentOptionsResolver.NameVariable}, key node.name; default: the host name).", HelpName = "NAME" };
        var docker = new Option<string?>("--docker") { Description = $"The local Docker engine (env {AgentOptionsResolver.DockerVariable}, key docker.endpoint; default {Runtime.Docker.DockerEndpoint.Default}).", HelpName = "unix:///PATH" };
        var logLevel = new Option<string?>("--log-level") { Description = $"trace, debug, info, warning or error (env {AgentOptionsResolver.LogLevelVariable}, key log.level; default info).", HelpName = "LEVEL" };

        var command = new Command("agent", "Run the node in the foreground: the admin endpoint and, once in a cluster, gossip, Raft and the join port.")
        {
            config, dataDir, socket, advertise, name, docker, logLevel,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            AgentOptions options;
            try
            {
                options = AgentOptionsResolver.Resolve(
                    new AgentArguments(parse.GetValue(config), parse.GetValue(dataDir), parse.GetValue(socket), parse.GetValue(advertise), parse.GetValue(name), parse.GetValue(logLevel), parse.GetValue(docker)),
                    Environment.GetEnvironmentVariable,
                    ClientOptions.ReadFileOrNull,
                    Environment.MachineName);
            }
            catch (Exception ex) when (ex is ConfigException or UnauthorizedAccessException or IOException)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"nanobox agent: {ex.Message}");
                return ExitCodes.Config;
            }

            return await Agent.RunAsync(options, cancellationToken);
        });
        return command;
    }
}
