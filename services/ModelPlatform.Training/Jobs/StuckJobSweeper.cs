using Microsoft.Extensions.Options;
using ModelPlatform.Messaging;

namespace ModelPlatform.Training.Jobs;

/// <summary>
/// Sends again the jobs nobody runs long after their message went out (<see cref="TrainingOptions.RepublishAfterSeconds"/>),
/// through the outbox like any job: a message dead-lettered before any claim, or lost with its worker, must not leave a
/// job queued forever. Every replica sweeps; the store lets one of them send each job.
/// </summary>
public sealed partial class StuckJobSweeper(
    IEnumerable<IQueuedJobs> kinds, OutboxRelay relay, IOptions<TrainingOptions> options, TimeProvider clock, ILogger<StuckJobSweeper> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var republishAfter = TimeSpan.FromSeconds(options.Value.RepublishAfterSeconds);
        using var timer = new PeriodicTimer(republishAfter / 10, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var jobs in kinds)
                {
                    try
                    {
                        if (await jobs.RepublishStuckAsync(republishAfter, stoppingToken) is var sent and > 0)
                        {
                            LogRepublished(sent, jobs.Resources);
                            relay.Wake();
                        }
                    }
                    catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                    {
                        LogSweepFailed(ex, jobs.Resources);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(LogLevel.Warning, "Sent {Count} {Kind} again: nobody had run them since their message went out")]
    private partial void LogRepublished(int count, string kind);

    [LoggerMessage(LogLevel.Warning, "Looking for {Kind} nobody runs failed; trying again at the next sweep")]
    private partial void LogSweepFailed(Exception exception, string kind);
}
