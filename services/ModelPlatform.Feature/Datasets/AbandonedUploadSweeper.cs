namespace ModelPlatform.Feature.Datasets;

/// <summary>
/// Deletes uploads whose writer stopped mid-way (a crash, a killed process), once their lease has run out: at start and
/// then every minute, so no half-written version stays on disk. Every replica sweeps; only abandoned uploads go.
/// </summary>
public sealed partial class AbandonedUploadSweeper(DatasetStore store, TimeProvider clock, ILogger<AbandonedUploadSweeper> logger)
    : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period, clock);
        try
        {
            do
            {
                try
                {
                    if (await store.DiscardAbandonedUploadsAsync(stoppingToken) is var discarded and > 0)
                    {
                        LogDiscarded(discarded);
                    }
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogSweepFailed(ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(LogLevel.Warning, "Discarded {Count} dataset uploads whose writer stopped before finishing")]
    private partial void LogDiscarded(int count);

    [LoggerMessage(LogLevel.Warning, "Looking for abandoned dataset uploads failed; trying again at the next sweep")]
    private partial void LogSweepFailed(Exception exception);
}
