using Nanobox.Node.Cluster.Join;
using Nanobox.Node.Security;
using Nanobox.Node.Tests.Security;
using Xunit.Abstractions;

namespace Nanobox.Node.Tests.Join;

/// <summary>
/// The join port is open to strangers: whatever a client sends, or fails to send, its connection
/// ends within the limits and the server goes on admitting others.
/// </summary>
public sealed class JoinServerHostileClientTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>Limits are 2 s; this leaves room for a busy machine while still failing a server that waits for the client.</summary>
    private static readonly TimeSpan Closed = TimeSpan.FromSeconds(6);

    private readonly JoinLab _lab = new(output);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _lab.DisposeAsync();

    [Fact]
    public async Task Garbage_instead_of_TLS_is_dropped_and_others_still_join()
    {
        using var tcp = await _lab.ConnectAsync();
        await tcp.GetStream().WriteAsync(Tamper.RandomBytes(new Random(1), 2000));

        await JoinLab.AssertClosedWithinAsync(tcp.GetStream(), Closed);
        (await _lab.JoinAsync()).Credentials.Dispose();
    }

    [Fact]
    public async Task A_garbage_frame_after_TLS_is_dropped_without_reaching_the_authority()
    {
        await using var ssl = await _lab.ConnectTlsAsync();
        await LengthPrefixedFrames.WriteAsync(ssl, Tamper.RandomBytes(new Random(2), 500), CancellationToken.None);

        await JoinLab.AssertClosedWithinAsync(ssl, Closed);
        await _lab.LoggedAsync("malformed join message");
        Assert.Empty(_lab.Authority.Requests);
        (await _lab.JoinAsync()).Credentials.Dispose();
    }

    [Fact]
    public async Task An_oversize_frame_is_refused_at_once_without_waiting_for_its_bytes()
    {
        await using var ssl = await _lab.ConnectTlsAsync();
        await JoinLab.WriteFrameHeaderAsync(ssl, 100_000_000);

        var closedAfter = await JoinLab.AssertClosedWithinAsync(ssl, Closed);

        await _lab.LoggedAsync("over the 65536-byte limit");
        Assert.True(closedAfter < JoinLab.FastLimits.RequestTimeout, $"closed after {closedAfter}, the request timeout, not at once");
    }

    [Fact]
    public async Task A_message_out_of_turn_is_dropped()
    {
        await using var ssl = await _lab.ConnectTlsAsync();
        await JoinWire.WriteAsync(ssl, JoinError.BadProof(), CancellationToken.None);

        await JoinLab.AssertClosedWithinAsync(ssl, Closed);
        await _lab.LoggedAsync("another message than a join request");
    }

    [Fact]
    public async Task A_client_that_never_starts_TLS_is_dropped_after_the_handshake_timeout_while_others_join()
    {
        using var silent = await _lab.ConnectAsync();

        (await _lab.JoinAsync()).Credentials.Dispose();
        await JoinLab.AssertClosedWithinAsync(silent.GetStream(), Closed);
        await _lab.LoggedAsync("no TLS handshake within 2 s");
    }

    [Fact]
    public async Task A_client_that_dribbles_its_request_is_dropped_after_the_request_timeout_while_others_join()
    {
        await using var ssl = await _lab.ConnectTlsAsync();
        await JoinLab.WriteFrameHeaderAsync(ssl, 1000);
        using var stop = new CancellationTokenSource(Closed);
        var dribbling = Task.Run(async () =>
        {
            // A byte every 100 ms: a per-read timeout would never fire; the request's deadline does.
            while (!stop.IsCancellationRequested)
            {
                await ssl.WriteAsync(new byte[] { (byte)'{' }, stop.Token);
                await ssl.FlushAsync(stop.Token);
                await Task.Delay(100, stop.Token);
            }
        }, stop.Token);

        (await _lab.JoinAsync()).Credentials.Dispose();
        await _lab.LoggedAsync("no join request within 2 s");
        await JoinLab.AssertClosedWithinAsync(ssl, Closed);
        await stop.CancelAsync();
        // Ends with the write the closed connection refused, or with the cancellation: either is fine here.
        await Record.ExceptionAsync(() => dribbling);
    }

    [Fact]
    public async Task Connections_over_the_cap_are_closed_at_once_and_the_slots_come_back()
    {
        var idle = new List<System.Net.Sockets.TcpClient>();
        for (var i = 0; i < JoinLab.FastLimits.MaxConnections; i++)
        {
            idle.Add(await _lab.ConnectAsync());
        }

        using var extra = await _lab.ConnectAsync();
        var closedAfter = await JoinLab.AssertClosedWithinAsync(extra.GetStream(), Closed);

        await _lab.LoggedAsync($"already serving {JoinLab.FastLimits.MaxConnections} join connections");
        Assert.True(closedAfter < JoinLab.FastLimits.HandshakeTimeout, $"closed after {closedAfter}: it waited for a slot");
        foreach (var client in idle)
        {
            client.Dispose();
        }

        await WaitForDroppedAsync(JoinLab.FastLimits.MaxConnections + 1);
        (await _lab.JoinAsync()).Credentials.Dispose();
    }

    [Fact]
    public async Task Stopping_ends_the_conversations_in_flight()
    {
        await using var ssl = await _lab.ConnectTlsAsync();
        var hello = Assert.IsType<JoinHello>(await JoinWire.ReadAsync(ssl, CancellationToken.None));
        Assert.Equal(JoinProof.NonceBytes, hello.ServerNonce.Length);

        var stopping = _lab.Server.StopAsync();

        Assert.True(await Task.WhenAny(stopping, Task.Delay(JoinLab.FastLimits.RequestTimeout / 2)) == stopping, "StopAsync waited for the client");
        await JoinLab.AssertClosedWithinAsync(ssl, Closed);
    }

    private async Task WaitForDroppedAsync(int count)
    {
        var until = DateTime.UtcNow + Closed;
        while (_lab.Log.Lines.Count(l => l.Contains("Dropped a join connection", StringComparison.Ordinal)) < count && DateTime.UtcNow < until)
        {
            await Task.Delay(20);
        }
    }
}
