using System.Text;
using System.Text.Json;
using Nanobox.Node.Runtime.Spec;
using static Nanobox.Node.Tests.Runtime.SpecTestData;

namespace Nanobox.Node.Tests.Runtime;

public sealed class AppSpecJsonTests
{
    /// <summary>The shop spec with every unordered collection and the components written in another order.</summary>
    private const string ShopReordered = """
        worker.jobs:
          command: while true; do sleep 1; done
          image: nanobox-lab/busybox:latest
        app: shop
        web.main:
          restart_backoff_max: 5m
          cap_add: [CAP_NET_BIND_SERVICE]
          user: 1000:1000
          network_dirs: [/app/uploads]
          writable_dirs: [/app/tmp, /var/cache/app]
          resources: { pids: 256, cpus: 0.500, memory: 131072K }
          constraints: ["node.label.zone==a", "node.name != h1"]
          labels: { tier: front }
          replicas: 2
          ports: [53/udp, 8080]
          env: { MODE: "0755", DEBUG: "yes", PORT: "8080", GREETING: hello }
          command: [httpd, -f, -p, "8080"]
          image: "nanobox-lab/busybox:latest"
        """;

    [Fact]
    public void Specs_that_mean_the_same_serialise_to_the_same_bytes()
    {
        var a = Valid(Shop).ToCanonicalJson();
        var b = Valid(ShopReordered).ToCanonicalJson();

        Assert.Equal(Encoding.UTF8.GetString(a), Encoding.UTF8.GetString(b));
    }

    [Fact]
    public void Specs_compare_by_value_not_by_collection_reference()
    {
        var a = Valid(Shop);
        var b = Valid(ShopReordered);
        var changed = Valid(Shop.Replace("replicas: 2", "replicas: 3", StringComparison.Ordinal));

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Equal(a.Components["web.main"], b.Components["web.main"]);
        Assert.NotEqual(a, changed);
        Assert.NotEqual(a.Components["web.main"], changed.Components["web.main"]);
        Assert.Equal(a.Components["worker.jobs"], changed.Components["worker.jobs"]);
    }

    [Fact]
    public void The_canonical_json_round_trips_and_uses_the_specs_words()
    {
        var spec = Valid(Shop);
        var json = spec.ToCanonicalJson();

        var back = JsonSerializer.Deserialize(json, RuntimeJsonContext.Default.AppSpec)!;

        Assert.Equal(json, back.ToCanonicalJson());
        Assert.Equal(spec.Components["web.main"].Fingerprint("p"), back.Components["web.main"].Fingerprint("p"));
        var text = Encoding.UTF8.GetString(json);
        Assert.Contains("\"kind\":\"web\"", text);
        Assert.Contains("{\"number\":53,\"protocol\":\"udp\"}", text);
        Assert.Contains("{\"attribute\":\"node.name\",\"operator\":\"!=\",\"value\":\"h1\"}", text);
    }

    [Fact]
    public void The_fingerprint_is_short_hex_and_stable()
    {
        var web = Valid(Shop).Components["web.main"];

        var fingerprint = web.Fingerprint("sha256:abc");

        Assert.Matches("^[0-9a-f]{16}$", fingerprint);
        Assert.Equal(fingerprint, Valid(ShopReordered).Components["web.main"].Fingerprint("sha256:abc"));
    }

    [Theory]
    [InlineData("image: busybox:1.37")]
    [InlineData("command: [sleep, 2]")]
    [InlineData("env: { A: c }")]
    [InlineData("ports: [81]")]
    [InlineData("labels: { a: c }")]
    [InlineData("resources: { memory: 64M }")]
    [InlineData("resources: { cpus: 0.25 }")]
    [InlineData("resources: { pids: 100 }")]
    [InlineData("writable_dirs: [/b]")]
    [InlineData("network_dirs: [/b]")]
    [InlineData("user: 1001")]
    [InlineData("cap_add")]
    public void Everything_that_shapes_the_container_changes_the_fingerprint(string change)
    {
        // A change without a value removes the key (an empty list is refused, so removal is the only other cap_add).
        var basis = "image: busybox:1.36\ncommand: [sleep, 1]\nenv: { A: b }\nports: [80]\nlabels: { a: b }\nresources: { memory: 128M, cpus: 0.5, pids: 200 }\nwritable_dirs: [/a]\nnetwork_dirs: [/n]\nuser: 1000\ncap_add: [NET_BIND_SERVICE]";
        var colon = change.IndexOf(':', StringComparison.Ordinal);
        var key = colon < 0 ? change : change[..colon];
        var changed = string.Join("\n", basis.Split('\n')
            .Select(l => l.StartsWith(key + ":", StringComparison.Ordinal) ? (colon < 0 ? null : change) : l)
            .OfType<string>());

        Assert.NotEqual(Component(basis).Fingerprint("p"), Component(changed).Fingerprint("p"));
    }

    [Fact]
    public void Replicas_constraints_and_backoff_leave_the_fingerprint_alone_but_the_pin_does_not()
    {
        var basis = Component("image: busybox:1.36");
        var moved = Component("image: busybox:1.36\nreplicas: 5\nconstraints: [\"node.name != h1\"]\nrestart_backoff_max: 10s");

        Assert.Equal(basis.Fingerprint("sha256:a"), moved.Fingerprint("sha256:a"));
        Assert.NotEqual(basis.Fingerprint("sha256:a"), basis.Fingerprint("sha256:b"));
        Assert.NotEqual(basis.Fingerprint("sha256:a"), basis.Fingerprint(null));
    }

    private static ComponentSpec Component(string settings) =>
        Valid("app: a\nweb.main:\n" + string.Join("\n", settings.Split('\n').Select(static l => "  " + l))).Components["web.main"];
}
