using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Trace;

namespace ModelPlatform.Inference.Tests;

/// <summary>
/// The inference service's appsettings.json makes it sample the traces it starts (parent-based, one in ten), as a
/// deployment runs it; a caller's sampled trace is always recorded, and OTEL_TRACES_SAMPLER in the environment wins.
/// </summary>
public sealed class TraceSamplingTests : IDisposable
{
    private static readonly ActivitySource Source = new("ModelPlatform.Tests.Sampling");
    private IHost? _host;

    public void Dispose() => _host?.Dispose();

    private static string AppSettings => Path.Combine(
        AppContext.BaseDirectory, "..", "..", "..", "..", "..", "services", "ModelPlatform.Inference", "appsettings.json");

    private void StartTracing(Dictionary<string, string?>? environment = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddJsonFile(AppSettings).AddInMemoryCollection(environment ?? []);
        builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing.AddSource(Source.Name));
        _host = builder.Build();
        _host.Services.GetRequiredService<TracerProvider>();
    }

    private static double RecordedShare(ActivityContext parent = default)
    {
        var recorded = 0;
        const int Requests = 4000;
        for (var i = 0; i < Requests; i++)
        {
            using var activity = Source.StartActivity("request", ActivityKind.Server, parent);
            recorded += activity?.Recorded == true ? 1 : 0;
        }

        return recorded / (double)Requests;
    }

    [Fact]
    public void RecordsAboutATenthOfTheTracesItStarts()
    {
        StartTracing();

        Assert.InRange(RecordedShare(), 0.07, 0.13);
    }

    [Fact]
    public void AlwaysRecordsATraceItsCallerSampled()
    {
        StartTracing();
        var sampled = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true);

        Assert.Equal(1, RecordedShare(sampled));
    }

    [Fact]
    public void TheEnvironmentsSamplerWins()
    {
        // What the AppHost sets in run mode, so the dashboard shows every trace.
        StartTracing(new() { ["OTEL_TRACES_SAMPLER"] = "always_on" });

        Assert.Equal(1, RecordedShare());
    }
}
