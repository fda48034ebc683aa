using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Nanobox.Node.Admin;

namespace Nanobox.Node.Cli;

/// <summary>The CLI's side of the admin endpoint: HTTP over the agent's Unix socket.</summary>
public sealed class AdminClient : IDisposable
{
    /// <summary>Long enough for a join: TLS to the remote node, the leader's Raft write, the local start.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(60);

    private readonly HttpClient _http;
    private readonly TimeSpan _requestTimeout;

    /// <param name="requestTimeout">How long a request may take; <see cref="DefaultRequestTimeout"/> unless a command needs longer.</param>
    public AdminClient(string socketPath, TimeSpan? requestTimeout = null)
    {
        SocketPath = socketPath;
        _requestTimeout = requestTimeout ?? DefaultRequestTimeout;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://nanobox"), Timeout = _requestTimeout };
    }

    public string SocketPath { get; }

    /// <summary>GETs a resource; returns it and the raw JSON the agent sent (for --json).</summary>
    /// <exception cref="AgentUnreachableException">Nothing answers on the socket.</exception>
    /// <exception cref="AdminRequestException">The agent answered with an error.</exception>
    public Task<(T Value, string Json)> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        RequestAsync(new HttpRequestMessage(HttpMethod.Get, path), type, cancellationToken);

    /// <summary>POSTs <paramref name="body"/> (JSON) to a resource; returns the answer and its raw JSON.</summary>
    public Task<(T Value, string Json)> PostAsync<TBody, T>(string path, TBody body, JsonTypeInfo<TBody> bodyType, JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        RequestAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body, bodyType) }, type, cancellationToken);

    /// <summary>POSTs without a body.</summary>
    public Task<(T Value, string Json)> PostAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        RequestAsync(new HttpRequestMessage(HttpMethod.Post, path), type, cancellationToken);

    /// <summary>DELETEs a resource; returns the answer and its raw JSON.</summary>
    public Task<(T Value, string Json)> DeleteAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        RequestAsync(new HttpRequestMessage(HttpMethod.Delete, path), type, cancellationToken);

    /// <summary>GETs a stream of JSON lines (NDJSON), each as it arrives; the request timeout covers only the wait for the answer to begin.</summary>
    /// <param name="headers">Called with the answer's headers before the first line.</param>
    public async IAsyncEnumerable<T> StreamLinesAsync<T>(string path, JsonTypeInfo<T> type, Action<System.Net.Http.Headers.HttpResponseHeaders> headers, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, path), cancellationToken, HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode)
        {
            throw ToException(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
        }

        headers(response.Headers);

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length > 0)
            {
                yield return JsonSerializer.Deserialize(line, type) ?? throw new AdminRequestException($"The agent on {SocketPath} sent an empty line.", null);
            }
        }
    }

    private async Task<(T Value, string Json)> RequestAsync<T>(HttpRequestMessage request, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(request, cancellationToken);
        var json = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw ToException(response.StatusCode, json);
        }

        try
        {
            return (JsonSerializer.Deserialize(json, type) ?? throw new JsonException("empty body"), json);
        }
        catch (JsonException ex)
        {
            throw new AdminRequestException($"The agent on {SocketPath} sent a response this CLI cannot read ({ex.Message}). Use a CLI of the agent's version.", null);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        try
        {
            return await _http.SendAsync(request, completion, cancellationToken);
        }
        catch (HttpRequestException ex) when (FindSocketError(ex) is { } error)
        {
            throw new AgentUnreachableException(SocketPath, error);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AdminRequestException($"The agent on {SocketPath} did not answer within {_requestTimeout.TotalSeconds:0} s. Check its log (journalctl -u nanobox).", null, ex);
        }
    }

    private static SocketError? FindSocketError(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is SocketException socketException)
            {
                return socketException.SocketErrorCode;
            }
        }

        return null;
    }

    private AdminRequestException ToException(HttpStatusCode status, string body)
    {
        ProblemResponse? problem = null;
        try
        {
            problem = JsonSerializer.Deserialize(body, AdminJsonContext.Default.ProblemResponse);
        }
        catch (JsonException)
        {
            // Not a problem document: report the status alone.
        }

        return new AdminRequestException(
            problem?.Detail ?? $"The agent on {SocketPath} answered {(int)status} {status}.",
            problem);
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>No agent answers on the admin socket.</summary>
public sealed class AgentUnreachableException(string socketPath, SocketError error) : Exception(Describe(socketPath, error))
{
    private static string Describe(string socketPath, SocketError error) => error switch
    {
        SocketError.AccessDenied =>
            $"permission denied on the agent's socket {socketPath}: run as root or add your user to the 'nanobox' group.",
        _ =>
            $"no nanobox agent is running on {socketPath} ({Reason(error)}): start it with 'systemctl start nanobox' (or 'nanobox agent'), " +
            "or point --socket / NANOBOX_SOCKET at the agent's socket.",
    };

    private static string Reason(SocketError error) => error switch
    {
        SocketError.AddressNotAvailable or SocketError.AddressFamilyNotSupported => "no such socket",
        SocketError.ConnectionRefused => "connection refused",
        _ => error.ToString(),
    };
}

/// <summary>The agent answered, with an error.</summary>
public sealed class AdminRequestException(string message, ProblemResponse? problem, Exception? inner = null) : Exception(message, inner)
{
    public ProblemResponse? Problem { get; } = problem;
}
