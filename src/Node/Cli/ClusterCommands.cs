using System.CommandLine;
using Nanobox.Node.Admin;

namespace Nanobox.Node.Cli;

/// <summary>`nanobox cluster init|join|token` and `nanobox members`.</summary>
public static class ClusterCommands
{
    public const string TokenVariable = "NANOBOX_JOIN_TOKEN";

    public static Command Build()
    {
        var cluster = new Command("cluster", "Create or join a cluster, and manage it: join token, member removal, gossip key.");
        cluster.Subcommands.Add(Init());
        cluster.Subcommands.Add(Join());
        cluster.Subcommands.Add(Token());
        cluster.Subcommands.Add(Remove());
        cluster.Subcommands.Add(RotateKey());
        return cluster;
    }

    private static Command Init()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var subnet = new Option<string?>("--overlay-subnet") { Description = "The overlay's IPv4 subnet, /8 to /23; every node takes a /24 of it (default: [overlay] subnet, else 100.88.0.0/16).", HelpName = "CIDR" };
        var vni = new Option<uint?>("--overlay-vni") { Description = "The overlay's VXLAN network identifier (default: [overlay] vni, else 4242).", HelpName = "VNI" };
        var port = new Option<int?>("--overlay-port") { Description = "The overlay's VXLAN UDP port (default: [overlay] port, else 4789; 8472 where 4789 is taken).", HelpName = "PORT" };
        var command = new Command("init", "Create a cluster on this standalone node: a cluster id, a root CA, this node's certificate, a join token and the overlay's settings.")
        {
            subnet, vni, port, socket, json,
        };
        command.SetAction((parse, ct) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var (created, raw) = await client.PostAsync(
                "/v1/cluster/init",
                new ClusterInitRequest(parse.GetValue(subnet), parse.GetValue(vni), parse.GetValue(port)),
                AdminJsonContext.Default.ClusterInitRequest,
                AdminJsonContext.Default.ClusterInitResponse,
                ct);
            var output = parse.InvocationConfiguration.Output;
            await output.WriteLineAsync(parse.GetValue(json) ? raw : $"Created cluster {created.ClusterId}.\n\nJoin token (keep it secret):\n  {created.Token}\n\nOn each other node, run:\n  {created.JoinCommand}");
            return 0;
        }));
        return command;
    }

    private static Command Join()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var address = new Argument<string>("ADDR[:PORT]") { Description = "A member's address and join port (default port 7948)." };
        var token = new Option<string?>("--token") { Description = $"The cluster's join token (or env {TokenVariable}, which keeps it out of shell history).", HelpName = "TOKEN" };
        var command = new Command("join", "Join this standalone node to a cluster through one of its members.") { address, token, socket, json };
        command.SetAction((parse, ct) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var secret = parse.GetValue(token) ?? Environment.GetEnvironmentVariable(TokenVariable);
            if (string.IsNullOrWhiteSpace(secret))
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"nanobox: give the join token with --token or {TokenVariable} (print it with `nanobox cluster token` on a member).");
                return Host.ExitCodes.Failed;
            }

            var (joined, raw) = await client.PostAsync(
                "/v1/cluster/join",
                new ClusterJoinRequest(parse.GetValue(address)!, secret.Trim()),
                AdminJsonContext.Default.ClusterJoinRequest,
                AdminJsonContext.Default.ClusterJoinResponse,
                ct);
            await parse.InvocationConfiguration.Output.WriteLineAsync(parse.GetValue(json) ? raw : $"Joined cluster {joined.ClusterId} ({joined.Members} members before this node).");
            return 0;
        }));
        return command;
    }

    private static Command Token()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var rotate = new Option<bool>("--rotate") { Description = "Replace the token: the old one stops admitting nodes at once." };
        var command = new Command("token", "Print the cluster's join token and the command that joins a node with it.") { rotate, socket, json };
        command.SetAction((parse, ct) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var (token, raw) = parse.GetValue(rotate)
                ? await client.PostAsync("/v1/cluster/token/rotate", AdminJsonContext.Default.ClusterTokenResponse, ct)
                : await client.GetAsync("/v1/cluster/token", AdminJsonContext.Default.ClusterTokenResponse, ct);
            await parse.InvocationConfiguration.Output.WriteLineAsync(parse.GetValue(json) ? raw : $"{token.Token}\n\nJoin a node with:\n  {token.JoinCommand}");
            return 0;
        }));
        return command;
    }

    private static Command Remove()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var target = new Argument<string>("NODE") { Description = "The member's id or name (see `nanobox members`)." };
        var command = new Command("remove", "Remove a member and revoke its certificate: every member refuses it from then on, and it cannot rejoin with its identity.") { target, socket, json };
        command.SetAction((parse, ct) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var (removed, raw) = await client.PostAsync(
                "/v1/cluster/remove",
                new ClusterRemoveRequest(parse.GetValue(target)!),
                AdminJsonContext.Default.ClusterRemoveRequest,
                AdminJsonContext.Default.MemberResponse,
                ct);
            await parse.InvocationConfiguration.Output.WriteLineAsync(parse.GetValue(json) ? raw : $"Removed {removed.Name} ({removed.Id}); its certificate is revoked.");
            return 0;
        }));
        return command;
    }

    private static Command RotateKey()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var command = new Command("rotate-key", "Replace the gossip encryption key without downtime: install the new key everywhere, make it primary, drop the old one.") { socket, json };
        command.SetAction((parse, ct) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var (rotated, raw) = await client.PostAsync("/v1/cluster/rotate-key", AdminJsonContext.Default.KeyRotationResponse, ct);
            await parse.InvocationConfiguration.Output.WriteLineAsync(parse.GetValue(json) ? raw : $"Gossip key rotated; every member now seals with key {rotated.GossipKey}.");
            return 0;
        }));
        return command;
    }

    public static Command Members()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var command = new Command("members", "List the cluster's members: id, name, address, state, role, leader, version.") { socket, json };
        command.SetAction((parse, ct) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var (members, raw) = await client.GetAsync("/v1/members", AdminJsonContext.Default.IReadOnlyListMemberResponse, ct);
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                await output.WriteLineAsync(raw);
                return 0;
            }

            await output.WriteLineAsync(TextTable.Columns(
                ["NAME", "ID", "ADDRESS", "STATE", "ROLE", "LEADER", "VERSION"],
                members.Select(m => new[] { m.Name, m.Id, m.Address, m.State, m.Role, m.Leader ? "*" : "", m.Version }).ToList()));
            return 0;
        }));
        return command;
    }
}
