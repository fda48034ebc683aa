using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Nanobox.Node.Cluster.Join;
using Nanobox.Node.Security;
using Nanobox.Node.Storage;
using Xunit.Abstractions;
using TestPki = Nanobox.Node.Tests.Security.TestPki;

namespace Nanobox.Node.Tests.Join;

/// <summary>`cluster join` against a live join server over loopback: what a joiner gets, and each way it can fail.</summary>
public sealed class JoinClientTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly JoinLab _lab = new(output);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _lab.DisposeAsync();

    [Fact]
    public async Task A_joiner_gets_a_certificate_for_its_node_id_and_addresses_from_the_cluster_CA()
    {
        var nodeId = NodeIdentity.NewId();

        var result = await _lab.JoinAsync(nodeId: nodeId);

        using var credentials = result.Credentials;
        Assert.Equal(nodeId, credentials.NodeId);
        Assert.True(credentials.Certificate.HasPrivateKey);
        var sans = credentials.Certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateIPAddresses();
        Assert.Equal(JoinLab.JoinerAddresses, sans);
        Assert.True(new PeerCertificateValidator(_lab.Ca.Certificate, "cluster-a").Validate(credentials.Certificate, RevocationList.Empty, nodeId).IsAccepted);
        Assert.Equal(_lab.Ca.Certificate.RawData, result.Response.CaCertificate);
        Assert.Equal(_lab.Authority.GossipKeys, result.Response.GossipKeys);
        Assert.Equal("cluster-a", result.Response.ClusterId);
        Assert.Equal(_lab.Authority.ClusterSecrets, result.Response.ClusterSecrets);
        Assert.Equal([AdmittingAuthority.Leader], result.Response.Members);
        await _lab.LoggedAsync($"Admitted node {nodeId}");
    }

    [Fact]
    public async Task A_wrong_secret_is_refused_as_a_bad_proof_with_advice()
    {
        var error = await Assert.ThrowsAsync<JoinFailedException>(() => _lab.JoinAsync(JoinToken.Create(_lab.Ca.Certificate.RawData)));

        Assert.Equal(JoinFailure.Refused, error.Failure);
        Assert.Equal("bad-proof", error.ErrorCode);
        Assert.Contains($"Cannot join the cluster at {_lab.Address}", error.Message);
        Assert.Contains("nanobox cluster token", error.Message);
        await _lab.LoggedAsync("Refused a join from 127.0.0.1");
    }

    [Fact]
    public async Task A_token_for_another_CA_is_refused_before_the_request_is_sent()
    {
        using var otherCa = TestPki.NewCa("cluster-a");

        var error = await Assert.ThrowsAsync<JoinFailedException>(() => _lab.JoinAsync(JoinToken.Create(otherCa.Certificate.RawData)));

        Assert.Equal(JoinFailure.CaMismatch, error.Failure);
        Assert.Contains($"Cannot join the cluster at {_lab.Address}", error.Message);
        Assert.Contains("does not match the join token's digest: the token is for another cluster or was mistyped", error.Message);
        // The server saw the connection end after its hello, without a request: nothing reached the authority.
        await _lab.LoggedAsync("the peer closed the connection");
        Assert.Empty(_lab.Authority.Requests);
    }

    [Fact]
    public async Task A_removed_node_is_refused_as_revoked()
    {
        var nodeId = NodeIdentity.NewId();
        _lab.Authority.Revocations = RevocationList.Empty.WithNode(nodeId);

        var error = await Assert.ThrowsAsync<JoinFailedException>(() => _lab.JoinAsync(nodeId: nodeId));

        Assert.Equal(JoinFailure.Refused, error.Failure);
        Assert.Equal("revoked", error.ErrorCode);
        Assert.Contains(nodeId, error.Message);
    }

    [Fact]
    public async Task A_cluster_that_cannot_decide_tells_the_joiner_to_retry()
    {
        _lab.Authority.Failure = new IOException("no leader");

        var error = await Assert.ThrowsAsync<JoinFailedException>(() => _lab.JoinAsync());

        Assert.Equal("unavailable", error.ErrorCode);
        Assert.Contains("Try again", error.Message);
    }

    [Fact]
    public async Task A_closed_port_is_reported_as_unreachable_with_the_address_and_port()
    {
        var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();

        var error = await Assert.ThrowsAsync<JoinFailedException>(() =>
            new JoinClient().JoinAsync($"127.0.0.1:{port}", _lab.Token, NodeIdentity.NewId(), "web-1", JoinLab.JoinerAddresses, CancellationToken.None));

        Assert.Equal(JoinFailure.Unreachable, error.Failure);
        Assert.Contains($"127.0.0.1:{port}", error.Message);
        Assert.Contains($"join port {port} is reachable", error.Message);
    }

    [Fact]
    public async Task A_node_that_accepts_but_never_answers_times_out()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var client = new JoinClient(timeout: TimeSpan.FromSeconds(1));

        var error = await Assert.ThrowsAsync<JoinFailedException>(() =>
            client.JoinAsync(silent.LocalEndpoint.ToString()!, _lab.Token, NodeIdentity.NewId(), "web-1", JoinLab.JoinerAddresses, CancellationToken.None));

        Assert.Equal(JoinFailure.TimedOut, error.Failure);
        Assert.Contains("within 1 s", error.Message);
        silent.Stop();
    }

    [Fact]
    public async Task Something_that_is_not_a_join_port_is_a_protocol_error()
    {
        using var other = new TcpListener(IPAddress.Loopback, 0);
        other.Start();
        var answering = Task.Run(async () =>
        {
            using var peer = await other.AcceptTcpClientAsync();
            await peer.GetStream().WriteAsync("HTTP/1.1 400 Bad Request\r\n\r\n"u8.ToArray());
        });

        var error = await Assert.ThrowsAsync<JoinFailedException>(() =>
            new JoinClient().JoinAsync(other.LocalEndpoint.ToString()!, _lab.Token, NodeIdentity.NewId(), "web-1", JoinLab.JoinerAddresses, CancellationToken.None));

        await answering;
        Assert.Equal(JoinFailure.Protocol, error.Failure);
        Assert.Contains("not a nanobox join port", error.Message);
    }

    [Fact]
    public async Task Every_joiner_gets_its_own_certificate()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => _lab.JoinAsync()));

        Assert.Equal(3, results.Select(r => r.Credentials.Certificate.SerialNumber).Distinct().Count());
        foreach (var result in results)
        {
            result.Credentials.Dispose();
        }
    }
}
