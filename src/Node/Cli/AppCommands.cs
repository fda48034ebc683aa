using System.CommandLine;
using System.Globalization;
using Nanobox.Node.Admin;
using Nanobox.Node.Host;
using Nanobox.Node.Runtime.Apps;

namespace Nanobox.Node.Cli;

/// <summary>`nanobox app deploy|rollback|ls|show|rm`.</summary>
public static class AppCommands
{
    public static Command Build()
    {
        var app = new Command("app", "Apps: components (web.main, worker.jobs, data.db...) described by a YAML spec, placed by the leader, run locked down on the members.");
        app.Subcommands.Add(Deploy());
        app.Subcommands.Add(Rollback());
        app.Subcommands.Add(List());
        app.Subcommands.Add(Show());
        app.Subcommands.Add(Remove());
        return app;
    }

    private static Command Deploy()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var file = new Argument<FileInfo>("FILE") { Description = "The app spec (YAML); docs/APPS.md describes every key." };
        var command = new Command("deploy", "Check a spec, pin every component's image, and deploy it as the app's next version. A spec with any error deploys nothing.") { file, socket, json };
        command.SetAction((parse, ct) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var path = parse.GetValue(file)!;
            string spec;
            try
            {
                spec = await File.ReadAllTextAsync(path.FullName, ct);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"nanobox: cannot read {path}: {ex.Message}");
                return ExitCodes.Failed;
            }

            try
            {
                var (done, raw) = await client.PostAsync("/v1/apps", new AppDeployRequest(spec, path.Name), AdminJsonContext.Default.AppDeployRequest, AdminJsonContext.Default.AppChangeResponse, ct);
                await parse.InvocationConfiguration.Output.WriteLineAsync(parse.GetValue(json) ? raw : Describe(done));
                return 0;
            }
            catch (AdminRequestException ex) when (ex.Problem?.Errors is { Count: > 0 } errors)
            {
                var error = parse.InvocationConfiguration.Error;
                await error.WriteLineAsync($"nanobox: {path}: {ex.Message}");
                foreach (var line in errors)
                {
                    await error.WriteLineAsync($"{path}: {line}");
                }

                return ExitCodes.Failed;
            }
        }));
        return command;
    }

    private static Command Rollback()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var app = AppArgument();
        var to = new Option<int?>("--to") { Description = "The version to bring back (default: the one before the current); `nanobox app show APP` lists the kept ones.", HelpName = "VERSION" };
        var command = new Command("rollback", "Bring back an earlier release's spec and images as the app's next version.") { app, to, socket, json };
        command.SetAction((parse, ct) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var (done, raw) = await client.PostAsync($"/v1/apps/{Uri.EscapeDataString(parse.GetValue(app)!)}/rollback", new AppRollbackRequest(parse.GetValue(to)),
                AdminJsonContext.Default.AppRollbackRequest, AdminJsonContext.Default.AppChangeResponse, ct);
            await parse.InvocationConfiguration.Output.WriteLineAsync(parse.GetValue(json) ? raw : Describe(done));
            return 0;
        }));
        return command;
    }

    private static Command List()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var command = new Command("ls", "List the apps: current version, components, instances and who deployed it when.") { socket, json };
        command.SetAction((parse, ct) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var (apps, raw) = await client.GetAsync("/v1/apps", AdminJsonContext.Default.IReadOnlyListAppSummary, ct);
            await parse.InvocationConfiguration.Output.WriteLineAsync(parse.GetValue(json) ? raw : apps.Count == 0
                ? "No apps. Deploy one with `nanobox app deploy FILE`."
                : TextTable.Columns(
                    ["APP", "VERSION", "COMPONENTS", "INSTANCES", "DEPLOYED", "BY"],
                    [.. apps.Select(a => new[]
                    {
                        a.App, Number(a.Version), Number(a.Components),
                        a.Unplaced > 0 ? $"{a.Placed}/{a.Instances} placed ({a.Unplaced} cannot be)" : $"{a.Placed}/{a.Instances} placed",
                        a.DeployedAt.ToString("u", CultureInfo.InvariantCulture), a.DeployedBy,
                    })]));
            return 0;
        }));
        return command;
    }

    private static Command Show()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var app = AppArgument();
        var command = new Command("show", "Show an app: its current release, the kept earlier ones, its components and where its instances are placed.") { app, socket, json };
        command.SetAction((parse, ct) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var (details, raw) = await client.GetAsync($"/v1/apps/{Uri.EscapeDataString(parse.GetValue(app)!)}", AdminJsonContext.Default.AppDetails, ct);
            await parse.InvocationConfiguration.Output.WriteLineAsync(parse.GetValue(json) ? raw : Format(details));
            return 0;
        }));
        return command;
    }

    private static Command Remove()
    {
        var socket = ClientOptions.Socket();
        var json = ClientOptions.Json();
        var app = AppArgument();
        var command = new Command("rm", "Remove an app and its history: every node stops and removes its instances. Network dirs are kept on the nodes.") { app, socket, json };
        command.SetAction((parse, ct) => ClientOptions.RunAsync(parse, socket, async client =>
        {
            var (done, raw) = await client.DeleteAsync($"/v1/apps/{Uri.EscapeDataString(parse.GetValue(app)!)}", AdminJsonContext.Default.AppChangeResponse, ct);
            await parse.InvocationConfiguration.Output.WriteLineAsync(parse.GetValue(json) ? raw : Describe(done));
            return 0;
        }));
        return command;
    }

    private static Argument<string> AppArgument() => new("APP") { Description = "The app's name (`nanobox app ls` lists them)." };

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Describe(AppChangeResponse done)
    {
        var head = done.Outcome switch
        {
            AppChangeResponse.Unchanged => $"{done.App} is unchanged: version {done.Version} already has this spec and these images; nothing was written.",
            AppChangeResponse.Removed => $"Removed {done.App} (it was at version {done.Version}): every node removes its instances now (`nanobox ps` shows them until they are gone). Network dirs are kept.",
            AppChangeResponse.RolledBack => $"Rolled {done.App} back: version {done.Version} brings back version {done.RestoredFrom}.",
            _ => $"Deployed {done.App} version {done.Version}.",
        };
        if (done.Outcome == AppChangeResponse.Removed)
        {
            return head;
        }

        var lines = new List<string> { head, "", "images:" };
        lines.AddRange(done.Pins.Select(p => $"  {p.Key}  {p.Value}"));
        lines.Add("");
        if (!done.PlacementKnown)
        {
            lines.Add("The leader has not placed it yet; `nanobox ps` shows where its instances go.");
        }
        else
        {
            lines.Add(done.Placed.Count == 0
                ? "No instance is placed."
                : TextTable.Columns(["INSTANCE", "NODE"], [.. done.Placed.Select(p => new[] { p.Instance, p.NodeName })]));
        }

        if (done.Unplaced.Count > 0)
        {
            lines.Add("");
            lines.Add("Cannot be placed:");
            lines.AddRange(done.Unplaced.Select(u => $"  {u}"));
        }

        return string.Join('\n', lines);
    }

    private static string Format(AppDetails app)
    {
        string Release(AppReleaseSummary r) =>
            $"version {r.Version}{(r.RestoredFrom is { } from ? $" (brings back {from})" : "")}, {r.DeployedAt.ToString("u", CultureInfo.InvariantCulture)} by {r.DeployedBy}";
        var lines = new List<string>
        {
            TextTable.Render([("app:", app.App), ("current:", Release(app.Current))]),
            "",
            TextTable.Columns(
                ["COMPONENT", "IMAGE", "PIN", "REPLICAS", "MEMORY", "CPUS", "USER", "CAP_ADD"],
                [.. app.Components.Select(c => new[] { c.Id, c.Image, c.Pin, Number(c.Replicas), c.Memory, c.CpuLimit, c.User, c.CapAdd.Count == 0 ? "-" : string.Join(",", c.CapAdd) })]),
            "",
            app.Placed.Count == 0 ? "No instance is placed." : TextTable.Columns(["INSTANCE", "NODE"], [.. app.Placed.Select(p => new[] { p.Instance, p.NodeName })]),
        };
        if (app.Unplaced.Count > 0)
        {
            lines.Add("");
            lines.Add("Cannot be placed:");
            lines.AddRange(app.Unplaced.Select(u => $"  {u}"));
        }

        if (app.History.Count > 0)
        {
            lines.Add("");
            lines.Add("Earlier releases (`nanobox app rollback APP --to VERSION`):");
            lines.AddRange(app.History.Select(r => $"  {Release(r)}"));
        }

        return string.Join('\n', lines);
    }
}
