using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Nanobox.Node.Admin;
using Nanobox.Node.Cli;
using Nanobox.Node.Host;

namespace Nanobox.Node.Tests.Unit;

/// <summary>The admin endpoint served by an in-process agent on a throwaway socket (the lab tests run the AOT binary).</summary>
public sealed class AdminEndpointTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanobox-admin-").FullName;
    private readonly CancellationTokenSource _stop = new();
    private Task<int> _agent = null!;

    private string Socket => Path.Combine(_dir, "admin.sock");

    public async Task InitializeAsync()
    {
        var options = new AgentOptions
        {
            ConfigPath = Path.Combine(_dir, "none.toml"),
            DataDir = Path.Combine(_dir, "data"),
            SocketPath = Socket,
            Name = "unit",
            Advertise = IPAddress.Parse("192.0.2.7"),
        };
        _agent = Agent.RunAsync(options, _stop.Token);
        for (var i = 0; i < 200 && !File.Exists(Socket); i++)
        {
            Assert.False(_agent.IsCompleted, $"the agent exited early with {(_agent.IsCompleted ? _agent.Result : 0)}");
            await Task.Delay(25);
        }
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        Assert.Equal(ExitCodes.Ok, await _agent);
        Assert.False(File.Exists(Socket), "the socket is removed on a clean stop");
        Directory.Delete(_dir, recursive: true);
    }

    private HttpClient Client() => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, ct) =>
        {
            var socket = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(Socket), ct);
            return new NetworkStream(socket, ownsSocket: true);
        },
    }) { BaseAddress = new Uri("http://nanobox") };

    [Fact]
    public async Task Status_reports_the_node()
    {
        using var client = new AdminClient(Socket);

        var (status, json) = await client.GetAsync("/v1/status", AdminJsonContext.Default.StatusResponse, CancellationToken.None);

        Assert.Equal("unit", status.Name);
        Assert.Equal("192.0.2.7", status.Advertise);
        Assert.Equal(Path.Combine(_dir, "data"), status.DataDir);
        Assert.Equal(BuildInfo.Version, status.Version);
        var fields = JsonDocument.Parse(json).RootElement.EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.Superset(new HashSet<string> { "nodeId", "name", "version", "uptimeSeconds", "dataDir", "advertise" }, fields);
    }

    [Theory]
    [InlineData("GET", "/v1/nope")]
    [InlineData("GET", "/v2/status")]
    [InlineData("DELETE", "/v1/status")]
    public async Task Unknown_routes_get_problem_details_that_say_what_to_do(string method, string path)
    {
        using var client = Client();

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed, $"got {response.StatusCode}");
        Assert.Equal(Problems.ContentType, response.Content.Headers.ContentType?.MediaType);
        var problem = JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), AdminJsonContext.Default.ProblemResponse)!;
        Assert.Equal((int)response.StatusCode, problem.Status);
        Assert.Contains("same version", problem.Detail);
    }

    [Fact]
    public async Task The_cli_prints_status_and_json()
    {
        var output = new StringWriter();
        var error = new StringWriter();

        var human = await NanoboxCli.RunAsync(["status", "--socket", Socket], output, error);
        var json = await NanoboxCli.RunAsync(["status", "--json", "--socket", Socket], output, error);

        Assert.Equal(0, human);
        Assert.Equal(0, json);
        // Keys are padded to the widest one, which the runtime rows (docker, apps, waiting for) set.
        Assert.Matches(@"(?m)^node +unit \(", output.ToString());
        Assert.Matches(@"(?m)^docker +unix:///var/run/docker.sock", output.ToString());
        Assert.Matches(@"(?m)^apps +\S.* 0 of 0 instances placed here running$", output.ToString());
        Assert.Contains("\"advertise\": \"192.0.2.7\"", output.ToString());
        Assert.Equal("", error.ToString());
    }

    [Fact]
    public async Task The_cli_says_how_to_start_an_agent_when_none_answers()
    {
        var missing = Path.Combine(_dir, "missing.sock");
        var output = new StringWriter();
        var error = new StringWriter();

        var code = await NanoboxCli.RunAsync(["status", "--socket", missing], output, error);

        Assert.Equal(ExitCodes.AgentUnreachable, code);
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(missing, line);
        Assert.Contains("nanobox agent", line);
    }
}
