using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.Testing;

namespace ModelPlatform.Bench;

/// <summary>
/// The services as the benchmark calls them: over TLS, at the same endpoints the console reaches through service discovery,
/// with the benchmark's key, and waiting out a refusal for rate (429) as long as its <c>Retry-After</c> says.
/// </summary>
internal sealed class ServiceClients : IDisposable
{
    private readonly Dictionary<string, HttpClient> _clients;
    private ConcurrentQueue<(string Call, double Milliseconds)>? _calls;

    public ServiceClients(DistributedApplication app, string key)
    {
        _clients = new[] { "identity", "feature", "training", "registry", "inference" }.ToDictionary(service => service, service =>
        {
            var client = new HttpClient(new RetryAfterHandler()) { BaseAddress = app.GetEndpoint(service, "https"), Timeout = TimeSpan.FromMinutes(2) };
            client.DefaultRequestHeaders.Authorization = new("Bearer", key);
            return client;
        });
    }

    public HttpClient this[string service] => _clients[service];

    /// <summary>How many requests were refused for rate and sent again.</summary>
    public static int RateLimited => RetryAfterHandler.Retries;

    /// <summary>From now on, each GET's time, by service and path, until <see cref="StopRecording"/>.</summary>
    public void StartRecording() => _calls = new();

    public IReadOnlyList<(string Call, double Milliseconds)> StopRecording()
    {
        var calls = _calls?.ToList() ?? [];
        _calls = null;
        return calls;
    }

    /// <summary>A GET whose whole answer is read, as a page reads it; fails unless it succeeds.</summary>
    public async Task GetAsync(string service, string path)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await _clients[service].GetAsync(path);
        await response.Content.LoadIntoBufferAsync();
        _calls?.Enqueue(($"{service} {path}", Stopwatch.GetElapsedTime(started).TotalMilliseconds));
        await EnsureAsync(response, path);
    }

    public async Task<JsonNode> GetJsonAsync(string service, string path)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await _clients[service].GetAsync(path);
        await EnsureAsync(response, path);
        var answer = (await response.Content.ReadFromJsonAsync<JsonNode>())!;
        _calls?.Enqueue(($"{service} {path}", Stopwatch.GetElapsedTime(started).TotalMilliseconds));
        return answer;
    }

    public async Task<JsonNode> SendJsonAsync(string service, HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await _clients[service].SendAsync(request);
        await EnsureAsync(response, path);
        return (await response.Content.ReadFromJsonAsync<JsonNode>())!;
    }

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }
    }

    private static async Task EnsureAsync(HttpResponseMessage response, string path)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync();
            throw new HttpRequestException($"{response.RequestMessage?.Method} {path}: {(int)response.StatusCode} {body}");
        }
    }

    /// <summary>Sends a request again after a 429, once the wait its <c>Retry-After</c> names has passed (at most ten times).</summary>
    private sealed class RetryAfterHandler() : DelegatingHandler(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        private static int RetriesSoFar;

        public static int Retries => Volatile.Read(ref RetriesSoFar);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            for (var attempt = 1; ; attempt++)
            {
                var response = await base.SendAsync(request, cancellationToken);
                if (response.StatusCode != HttpStatusCode.TooManyRequests || attempt == 10)
                {
                    return response;
                }

                var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
                response.Dispose();
                Interlocked.Increment(ref RetriesSoFar);
                await Task.Delay(wait, cancellationToken);
            }
        }
    }
}
