using System.Collections.Immutable;
using Nanobox.Node.Runtime.Spec;

namespace Nanobox.Node.Tests.Runtime;

internal static class SpecTestData
{
    /// <summary>The spec from docs/APPS.md: every key of a component used once.</summary>
    public const string Shop = """
        app: shop
        web.main:
          image: nanobox-lab/busybox:latest
          command: ["httpd", "-f", "-p", "8080"]
          env: { GREETING: hello, PORT: 8080, DEBUG: yes, MODE: 0755 }
          ports: [8080/tcp, 53/udp]
          replicas: 2
          labels: { tier: front }
          constraints: ["node.name != h1", "node.label.zone == a"]
          resources: { memory: 128M, cpus: 0.5, pids: 256 }
          writable_dirs: [/var/cache/app, /app/tmp]
          network_dirs: [/app/uploads]
          user: 1000
          cap_add: [NET_BIND_SERVICE]
          restart_backoff_max: 5m
        worker.jobs:
          image: nanobox-lab/busybox:latest
          command: while true; do sleep 1; done
        """;

    public static AppSpec Valid(string yaml, AppSpecPolicy? policy = null)
    {
        var result = AppSpecParser.Parse(yaml, policy ?? AppSpecPolicy.Default);
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        Assert.Empty(result.Errors);
        return result.Spec;
    }

    /// <summary>The errors of an invalid spec, as the CLI prints them.</summary>
    public static List<string> Errors(string yaml, AppSpecPolicy? policy = null)
    {
        var result = AppSpecParser.Parse(yaml, policy ?? AppSpecPolicy.Default);
        Assert.False(result.IsValid);
        Assert.Null(result.Spec);
        Assert.NotEmpty(result.Errors);
        return [.. result.Errors.Select(static e => e.ToString())];
    }

    /// <summary>An app with one component web.main (lines 1-3) whose further settings start on line 4.</summary>
    public static string WebMain(string settings) =>
        "app: shop\nweb.main:\n  image: busybox:1.36\n" + (settings.Length == 0 ? "" : string.Join("", settings.Split('\n').Select(static l => $"  {l}\n")));

    public static ComponentSpec ValidWebMain(string settings, AppSpecPolicy? policy = null) =>
        Valid(WebMain(settings), policy).Components["web.main"];

    public static ImmutableSortedDictionary<string, string> PinsFor(AppSpec spec, string pin = "sha256:1111111111111111111111111111111111111111111111111111111111111111") =>
        spec.Components.Keys.ToImmutableSortedDictionary(static k => k, _ => pin, StringComparer.Ordinal);
}
