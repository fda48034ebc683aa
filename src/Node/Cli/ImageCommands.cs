using System.CommandLine;
using Nanobox.Node.Admin;

namespace Nanobox.Node.Cli;

/// <summary>`nanobox image pull`.</summary>
public static class ImageCommands
{
    /// <summary>A copy of a large image between nodes, or a registry pull, can take minutes.</summary>
    private static readonly TimeSpan PullTimeout = TimeSpan.FromMinutes(30);

    public static Command Build()
    {
        var image = new Command("image", "Images in this node's Docker engine, fetched from other members or a registry.");
        image.Subcommands.Add(Pull());
        return image;
    }

    private static Command Pull()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var reference = new Argument<string>("IMAGE") { Description = "A tag (nanobox-lab/busybox:latest), a digest reference (REPOSITORY@sha256:...) or an image id (sha256:...)." };
        var command = new Command("pull",
            "Make this node's engine hold IMAGE: from this engine, else copied from a member whose engine has it (over the cluster's mutual TLS), " +
            "else pulled from its registry. Prints the pin a deploy would use and where the image came from.")
        {
            reference, socket, json,
        };
        command.SetAction((parse, ct) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var (pulled, raw) = await client.PostAsync("/v1/images/pull", new ImagePullRequest(parse.GetValue(reference)!), AdminJsonContext.Default.ImagePullRequest, AdminJsonContext.Default.ImagePullResponse, ct);
            await parse.InvocationConfiguration.Output.WriteLineAsync(parse.GetValue(json) ? raw : Format(pulled));
            return 0;
        }, PullTimeout));
        return command;
    }

    private static string Format(ImagePullResponse pulled)
    {
        var source = pulled.Source switch
        {
            "peer" => $"copied from {pulled.From} ({pulled.Bytes / 1e6:0.0} MB in {pulled.Seconds:0.##} s)",
            "registry" => $"pulled from its registry in {pulled.Seconds:0.##} s",
            _ => "already on this node",
        };
        return TextTable.Render([("image:", pulled.Image), ("pin:", pulled.Pin), ("id:", pulled.ImageId), ("source:", source)]);
    }
}
