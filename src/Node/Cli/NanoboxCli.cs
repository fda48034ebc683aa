using System.CommandLine;
using Nanobox.Node.Host;

namespace Nanobox.Node.Cli;

/// <summary>The command tree. `agent` runs the node; every other command is a client of its admin socket.</summary>
public static class NanoboxCli
{
    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.Out, Console.Error);

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var root = BuildRoot();
        var parseResult = root.Parse(args);
        return await parseResult.InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
    }

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "Nanobox Node: runs an app's components on Docker across a self-forming, locked-down cluster of servers.\n" +
            "'nanobox agent' runs the node; every other command talks to the local agent over its admin socket.");
        root.Subcommands.Add(AgentCommand.Build());
        root.Subcommands.Add(StatusCommand.Build());
        root.Subcommands.Add(ClusterCommands.Build());
        root.Subcommands.Add(ClusterCommands.Members());
        root.Subcommands.Add(FirewallCommands.Build());
        root.Subcommands.Add(OverlayCommands.Build());
        root.Subcommands.Add(AppCommands.Build());
        root.Subcommands.Add(PsCommand.Build());
        root.Subcommands.Add(LogsCommand.Build());
        root.Subcommands.Add(ImageCommands.Build());
        root.Subcommands.Add(VersionCommand.Build());
        return root;
    }
}

/// <summary>The options every client command takes, and how a command reaches the agent.</summary>
public static class ClientOptions
{
    public static Option<string?> Socket() => new("--socket")
    {
        Description = $"The agent's admin socket (env {AgentOptionsResolver.SocketVariable}; default: admin.socket from the config file, else {AgentOptions.DefaultSocketPath}).",
        HelpName = "PATH",
    };

    public static Option<bool> Json() => new("--json") { Description = "Print machine-readable JSON." };

    public static string ResolveSocket(string? argument) =>
        AgentOptionsResolver.ResolveSocket(argument, Environment.GetEnvironmentVariable, ReadFileOrNull);

    public static string? ReadFileOrNull(string path) => File.Exists(path) ? File.ReadAllText(path) : null;

    /// <summary>Runs a client command, turning the ways it can fail into a one-line message and an exit code.</summary>
    /// <param name="requestTimeout">For commands that may take longer than <see cref="AdminClient.DefaultRequestTimeout"/>.</param>
    public static async Task<int> RunAsync(ParseResult parse, Option<string?> socketOption, Func<AdminClient, Task<int>> command, TimeSpan? requestTimeout = null)
    {
        using var client = new AdminClient(ResolveSocket(parse.GetValue(socketOption)), requestTimeout);
        try
        {
            return await command(client);
        }
        catch (AgentUnreachableException ex)
        {
            await parse.InvocationConfiguration.Error.WriteLineAsync($"nanobox: {ex.Message}");
            return ExitCodes.AgentUnreachable;
        }
        catch (AdminRequestException ex)
        {
            await parse.InvocationConfiguration.Error.WriteLineAsync($"nanobox: {ex.Message}");
            return ExitCodes.Failed;
        }
    }
}
