using Microsoft.Extensions.Options;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// Checks, every <see cref="InferenceOptions.DriftCheckMinutes"/>, the current window's drift of each version this replica
/// has loaded, so the drift gauges follow the traffic without anyone asking; a version that drifted is logged as a warning.
/// </summary>
public sealed partial class DriftMonitor(
    LoadedModels models, ModelCatalog catalog, ServingDrift drift, TimeProvider clock, IOptions<InferenceOptions> options, ILogger<DriftMonitor> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.DriftCheckMinutes == 0 || options.Value.DriftSampleSize == 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(options.Value.DriftCheckMinutes), clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            foreach (var (model, number, _) in models.Snapshot())
            {
                try
                {
                    if (await catalog.GetVersionAsync(model, number, stoppingToken) is { } version
                        && (await drift.CompareAsync(version, previousWindow: false, stoppingToken)).Report is { Drift.Drifted: true } report)
                    {
                        LogDrifted(model, number, report.Drift.DriftedColumns, report.Drift.ComparedColumns, report.SampledRows);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    LogCheckFailed(ex, model, number);
                }
            }
        }
    }

    [LoggerMessage(LogLevel.Warning, "{ModelName} v{Version} drifted from its training data: {Drifted} of {Compared} inputs, over {Sampled} sampled rows")]
    private partial void LogDrifted(string modelName, int version, int drifted, int compared, int sampled);

    [LoggerMessage(LogLevel.Warning, "The drift check of {ModelName} v{Version} failed")]
    private partial void LogCheckFailed(Exception exception, string modelName, int version);
}
