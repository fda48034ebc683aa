using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Docker.DotNet.Models;
using Nanobox.Node.Host;
using Microsoft.Extensions.Logging.Abstractions;
using Nanobox.Node.Runtime.Docker;
using Nanobox.Node.Storage;

namespace Nanobox.Node.Tests.Runtime.Docker;

/// <summary>The pure pieces around the engine calls: endpoint, API 1.41 rewrite, image references, log lines, networks.</summary>
public sealed class EngineRequestTests
{
    [Theory]
    [InlineData("unix:///var/run/docker.sock", "/var/run/docker.sock")]
    [InlineData("unix:///var/lib/nanobox-lab/1/h1/docker.sock", "/var/lib/nanobox-lab/1/h1/docker.sock")]
    public void A_unix_endpoint_is_accepted(string value, string socketPath)
    {
        var endpoint = DockerEndpoint.Parse(value);

        Assert.Equal(socketPath, endpoint.SocketPath);
        Assert.Equal(value, endpoint.ToString());
        Assert.Equal(socketPath, endpoint.Uri.LocalPath);
    }

    [Theory]
    [InlineData("tcp://127.0.0.1:2375")]
    [InlineData("ssh://host")]
    [InlineData("/var/run/docker.sock")]
    [InlineData("unix://var/run/docker.sock")]
    [InlineData("unix:///var/run/../docker.sock")]
    [InlineData("unix:///var/run/")]
    [InlineData("")]
    public void Anything_else_is_refused_naming_the_form_to_use(string value)
    {
        var refusal = Assert.Throws<ConfigException>(() => DockerEndpoint.Parse(value));

        Assert.Contains("unix:///PATH", refusal.Message);
        Assert.Contains("--docker", refusal.Message);
    }

    [Fact]
    public void A_socket_path_longer_than_sun_path_is_refused() =>
        Assert.Contains("longer than", Assert.Throws<ConfigException>(() => DockerEndpoint.Parse("unix:///" + new string('a', 120))).Message);

    [Fact]
    public async Task An_engine_that_is_not_there_is_reported_with_what_to_check()
    {
        using var engine = new DockerEngine(
            new DockerEngineOptions { Endpoint = $"unix:///tmp/nanobox-test-{Guid.NewGuid():N}/docker.sock", NodeId = NodeIdentity.NewId() },
            NullLoggerFactory.Instance);

        var failure = await Assert.ThrowsAsync<DockerEngineException>(() => engine.PingAsync(default));

        Assert.Contains("no socket at that path", failure.Message);
        Assert.Contains("is dockerd running? check --docker", failure.Message);
    }

    [Fact]
    public void Container_create_gets_the_endpoint_mac_at_the_top_where_api_141_reads_it()
    {
        var body = JsonNode.Parse("""
            {"Image":"x","HostConfig":{"NetworkMode":"nanobox"},
             "NetworkingConfig":{"EndpointsConfig":{"nanobox":{"IPAMConfig":{"IPv4Address":"10.0.0.5"},"MacAddress":"02:6e:62:00:00:05"}}}}
            """)!.AsObject();

        Assert.True(Api141Compatibility.Rewrite("/v1.41/containers/create", body));
        Assert.Equal("02:6e:62:00:00:05", body["MacAddress"]!.GetValue<string>());
    }

    [Fact]
    public void Container_create_without_a_network_mac_is_left_alone()
    {
        var body = JsonNode.Parse("""{"Image":"x","HostConfig":{"NetworkMode":"none"},"NetworkingConfig":null}""")!.AsObject();

        Assert.False(Api141Compatibility.Rewrite("/v1.41/containers/create", body));
        Assert.Null(body["MacAddress"]);
    }

    [Fact]
    public void Network_create_refuses_duplicates_and_other_requests_are_not_read()
    {
        var body = new JsonObject { ["Name"] = "n" };

        Assert.True(Api141Compatibility.Rewrite("/v1.41/networks/create", body));
        Assert.True(body["CheckDuplicate"]!.GetValue<bool>());
        Assert.False(Api141Compatibility.Applies("/v1.41/images/load"));
        Assert.False(Api141Compatibility.Applies("/v1.41/containers/abc/start"));
    }

    [Fact]
    public async Task The_handler_rewrites_create_bodies_and_passes_image_archives_through_unread()
    {
        var seen = new List<string>();
        using var client = new HttpClient(new Api141Compatibility.RequestRewriter { InnerHandler = new Recorder(seen) });
        var create = """{"HostConfig":{"NetworkMode":"n"},"NetworkingConfig":{"EndpointsConfig":{"n":{"MacAddress":"02:00:00:00:00:07"}}}}""";
        var archive = new byte[] { 0x1f, 0x8b, 0x00, 0xff }; // not JSON

        await client.PostAsync("http://docker/v1.41/containers/create?name=x", new StringContent(create, Encoding.UTF8, "application/json"));
        await client.PostAsync("http://docker/v1.41/images/load?quiet=1", new ByteArrayContent(archive));

        Assert.Equal("02:00:00:00:00:07", JsonNode.Parse(seen[0])!["MacAddress"]!.GetValue<string>());
        Assert.Equal(Convert.ToBase64String(archive), seen[1]);
    }

    private sealed class Recorder(List<string> seen) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
            seen.Add(request.Content.Headers.ContentType?.MediaType == "application/json" ? Encoding.UTF8.GetString(body) : Convert.ToBase64String(body));
            return new HttpResponseMessage(HttpStatusCode.OK);
        }
    }

    [Theory]
    [InlineData("nginx", "nginx", "latest")]
    [InlineData("nginx:1.25", "nginx", "1.25")]
    [InlineData("registry:5000/shop/web", "registry:5000/shop/web", "latest")]
    [InlineData("registry:5000/shop/web:v2", "registry:5000/shop/web", "v2")]
    [InlineData("shop/web@sha256:abcd", "shop/web", "sha256:abcd")]
    [InlineData("shop/web:v2@sha256:abcd", "shop/web", "sha256:abcd")]
    public void Image_references_split_into_repository_and_tag_or_digest(string reference, string repository, string tagOrDigest) =>
        Assert.Equal((repository, tagOrDigest), ImageReferences.Split(reference));

    [Fact]
    public void Log_chunks_become_lines_per_stream_even_when_cut_mid_line_and_mid_character()
    {
        var splitter = new LogLineSplitter();
        var stdout = Encoding.UTF8.GetBytes("2024-05-01T10:00:00.123456789Z héllo\n2024-05-01T10:00:01Z sec");
        var cut = Array.IndexOf(stdout, (byte)0xC3) + 1; // inside the two bytes of é

        var lines = splitter.Add(ContainerLogStream.StandardOutput, stdout.AsSpan(0, cut)).ToList();
        Assert.Empty(lines);
        lines.AddRange(splitter.Add(ContainerLogStream.StandardError, Encoding.UTF8.GetBytes("2024-05-01T10:00:00Z oops\n")));
        lines.AddRange(splitter.Add(ContainerLogStream.StandardOutput, stdout.AsSpan(cut)));
        lines.AddRange(splitter.Add(ContainerLogStream.StandardOutput, Encoding.UTF8.GetBytes("ond\n2024-05-01T10:00:02Z partial")));
        lines.AddRange(splitter.Flush());

        Assert.Equal(
            [
                new ContainerLogLine(ContainerLogStream.StandardError, new DateTimeOffset(2024, 5, 1, 10, 0, 0, TimeSpan.Zero), "oops"),
                new ContainerLogLine(ContainerLogStream.StandardOutput, new DateTimeOffset(2024, 5, 1, 10, 0, 0, TimeSpan.Zero).AddTicks(1234567), "héllo"),
                new ContainerLogLine(ContainerLogStream.StandardOutput, new DateTimeOffset(2024, 5, 1, 10, 0, 1, TimeSpan.Zero), "second"),
                new ContainerLogLine(ContainerLogStream.StandardOutput, new DateTimeOffset(2024, 5, 1, 10, 0, 2, TimeSpan.Zero), "partial"),
            ],
            lines);
    }

    [Theory]
    [InlineData("0001-01-01T00:00:00Z")]
    [InlineData("")]
    [InlineData("not a time")]
    public void Go_zero_times_and_non_times_are_no_time(string text) => Assert.Null(EngineTime.Parse(text));

    private static BridgeNetworkSpec Network() => new("nanobox", IPNetwork.Parse("10.210.0.0/16"), IPAddress.Parse("10.210.1.1"))
    {
        IpRange = IPNetwork.Parse("10.210.1.0/24"),
        BridgeName = "nbx0",
        Mtu = 1400,
    };

    [Fact]
    public void A_network_renders_as_a_labelled_bridge_with_its_pool_and_options()
    {
        var create = BridgeNetworkDesign.Render(Network(), "abcdefghijklmnopqrstuvwxyz");

        Assert.Equal("bridge", create.Driver);
        var pool = Assert.Single(create.IPAM!.Config!);
        Assert.Equal(("10.210.0.0/16", "10.210.1.1", "10.210.1.0/24"), (pool.Subnet, pool.Gateway, pool.IPRange));
        Assert.Equal(new Dictionary<string, string> { ["com.docker.network.bridge.name"] = "nbx0", ["com.docker.network.driver.mtu"] = "1400" }, create.Options);
        Assert.Equal("abcdefghijklmnopqrstuvwxyz", create.Labels!["io.nanobox.node"]);
    }

    [Fact]
    public void An_existing_network_equal_to_the_spec_has_no_differences_and_each_difference_is_named()
    {
        NetworkResponse Existing(string subnet, string mtu) => new()
        {
            Name = "nanobox",
            Driver = "bridge",
            IPAM = new IPAM { Config = [new IPAMConfig { Subnet = subnet, Gateway = "10.210.1.1", IPRange = "10.210.1.0/24" }] },
            Options = new Dictionary<string, string> { ["com.docker.network.bridge.name"] = "nbx0", ["com.docker.network.driver.mtu"] = mtu },
        };

        Assert.Empty(BridgeNetworkDesign.Differences(Network(), Existing("10.210.0.0/16", "1400")));
        var differences = BridgeNetworkDesign.Differences(Network(), Existing("10.99.0.0/16", "1500"));
        Assert.Equal(2, differences.Count);
        Assert.Contains("10.99.0.0/16", differences[0]);
        Assert.Contains("mtu=1500 (want 1400)", differences[1]);
        Assert.Single(BridgeNetworkDesign.Differences(Network() with { Mtu = null }, Existing("10.210.0.0/16", "1400")));
    }

    [Theory]
    [InlineData("host", "10.0.0.0/24", "10.0.0.1", null, null)]
    [InlineData("n", "10.0.0.0/24", "10.0.1.1", null, null)]
    [InlineData("n", "10.0.0.0/24", "10.0.0.1", "10.0.1.0/24", null)]
    [InlineData("n", "10.0.0.0/24", "10.0.0.1", null, "a-bridge-name-too-long")]
    [InlineData("n", "fd00::/64", "fd00::1", null, null)]
    public void Networks_that_cannot_work_are_refused(string name, string subnet, string gateway, string? range, string? bridge) =>
        Assert.Throws<ArgumentException>(() => BridgeNetworkDesign.Validate(new BridgeNetworkSpec(name, IPNetwork.Parse(subnet), IPAddress.Parse(gateway))
        {
            IpRange = range is null ? null : IPNetwork.Parse(range),
            BridgeName = bridge,
        }));
}
