using Microsoft.Extensions.Options;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// Moves this replica's live traffic counts to Redis every <see cref="InferenceOptions.LiveTrafficFlushSeconds"/>, off the
/// request path, and once more when the service stops. While Redis is unreachable the counts wait in memory.
/// </summary>
public sealed partial class LiveTrafficFlusher(
    LiveTrafficTally tally, LiveTrafficTotals totals, IOptions<InferenceOptions> options, TimeProvider clock, ILogger<LiveTrafficFlusher> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.LiveTrafficFlushSeconds), clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: what was answered since the last tick is flushed below, not lost.
        }

        await FlushAsync();
    }

    private async Task FlushAsync()
    {
        try
        {
            await tally.FlushAsync(totals.AddAsync);
        }
        catch (Exception ex)
        {
            // The counts were put back; the next tick tries again.
            LogFlushFailed(ex);
        }
    }

    [LoggerMessage(LogLevel.Warning, "Live traffic counts could not be flushed to Redis; they are kept for the next flush")]
    private partial void LogFlushFailed(Exception exception);
}
