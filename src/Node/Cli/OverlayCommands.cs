using System.CommandLine;
using Nanobox.Node.Admin;
using Nanobox.Node.Overlay;

namespace Nanobox.Node.Cli;

/// <summary>`nanobox overlay show`.</summary>
public static class OverlayCommands
{
    public static Command Build()
    {
        var overlay = new Command("overlay", "The overlay: one VXLAN L2 network over every member, which containers on any host share.");
        overlay.Subcommands.Add(Show());
        return overlay;
    }

    private static Command Show()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var command = new Command("show", "Show the overlay on this node: subnet, this node's block and address, VTEP, VNI, port, MTU and the peers it forwards to.") { socket, json };
        command.SetAction((parse, ct) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var (status, raw) = await client.GetAsync("/v1/overlay", AdminJsonContext.Default.OverlayStatus, ct);
            await parse.InvocationConfiguration.Output.WriteLineAsync(parse.GetValue(json) ? raw : Format(status));
            return status.State == OverlayStatus.Failed ? Host.ExitCodes.Failed : 0;
        }));
        return command;
    }

    private static string Format(OverlayStatus status)
    {
        var rows = new List<(string, string)> { ("state:", status.State) };
        if (status.Subnet is not null)
        {
            rows.Add(("subnet:", status.Subnet));
            rows.Add(("block:", $"{status.Block} (this host {status.Address})"));
            rows.Add(("vtep:", $"{status.Vtep} udp/{status.Port}, vni {status.Vni}, mtu {status.Mtu}"));
            rows.Add(("devices:", $"{status.Bridge} (bridge), {status.Device} (vxlan)"));
            rows.Add(("endpoints:", string.Join(", ", status.Endpoints)));
        }

        rows.Add(("docker:", $"network {status.Docker.Network} {status.Docker.State}{(status.Docker.Error is null ? "" : $": {status.Docker.Error}")}"));
        if (status.Error is { } error)
        {
            rows.Add(("error:", error));
        }

        var text = TextTable.Render(rows);
        return status.Peers.Count == 0
            ? text + "\n\nNo peers."
            : text + "\n\n" + TextTable.Columns(
                ["PEER", "VTEP", "BLOCK", "ENDPOINTS"],
                [.. status.Peers.Select(p => new[] { p.Name, p.Vtep, p.Block ?? "-", p.EndpointsKnown ? string.Join(", ", p.Endpoints) : "(not yet announced)" })]);
    }
}
