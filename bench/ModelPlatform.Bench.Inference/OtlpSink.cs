using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ModelPlatform.Bench.Inference;

/// <summary>
/// Where the platform's telemetry goes during the benchmark: an OTLP/HTTP receiver that accepts protobuf exports on
/// <c>/v1/traces</c>, <c>/v1/metrics</c> and <c>/v1/logs</c>, reads every byte and discards them (an empty
/// <c>Export…ServiceResponse</c> is a full success). The services pay for recording, batching, serializing and sending
/// their telemetry as in a deployment; only the collector's own work is left out. It counts what arrived, so the report
/// can show that telemetry really flowed.
/// </summary>
internal sealed class OtlpSink : IAsyncDisposable
{
    private static readonly string[] Signals = ["traces", "metrics", "logs"];
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Tally> _received = new();

    private OtlpSink(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>The value of OTEL_EXPORTER_OTLP_ENDPOINT for the services (the signal paths are appended by the exporter).</summary>
    public Uri Url { get; }

    public static async Task<OtlpSink> StartAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var sink = new OtlpSink(app, new Uri($"http://127.0.0.1:{port}"));
        foreach (var signal in Signals)
        {
            // The slim builder has no regex route constraint: one route per signal.
            app.MapPost($"/v1/{signal}", async (HttpRequest request, HttpResponse response) =>
            {
                var buffer = new byte[16 * 1024];
                long bytes = 0;
                int read;
                while ((read = await request.Body.ReadAsync(buffer)) > 0)
                {
                    bytes += read;
                }

                var tally = sink._received.GetOrAdd(signal, _ => new Tally());
                Interlocked.Increment(ref tally.Requests);
                Interlocked.Add(ref tally.Bytes, bytes);
                response.ContentType = "application/x-protobuf";
                return Results.Empty;
            });
        }

        await app.StartAsync();
        return sink;
    }

    /// <summary>Requests and bytes received per signal since the last call (and resets the counts).</summary>
    public IReadOnlyDictionary<string, (long Requests, long Bytes)> TakeCounts() =>
        Signals.ToDictionary(signal => signal, signal =>
        {
            var tally = _received.GetOrAdd(signal, _ => new Tally());
            return (Interlocked.Exchange(ref tally.Requests, 0), Interlocked.Exchange(ref tally.Bytes, 0));
        });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class Tally
    {
        public long Requests;
        public long Bytes;
    }
}
