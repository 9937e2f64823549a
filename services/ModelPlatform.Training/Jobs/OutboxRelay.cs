using System.Diagnostics;
using ModelPlatform.Contracts;
using ModelPlatform.Messaging;

namespace ModelPlatform.Training.Jobs;

/// <summary>
/// Publishes accepted jobs to the queue. A job is stored first and published here, with publisher confirms,
/// so a broker outage delays jobs but never loses them: the relay keeps trying until the broker confirms.
/// Each replica runs a relay; a short publish lease keeps two of them from sending the same job at once
/// (and should one die mid-send, the job is sent again, which the idempotent consumer absorbs).
/// </summary>
public sealed partial class OutboxRelay(TrainingJobStore jobs, IEventBus eventBus, ILogger<OutboxRelay> logger) : BackgroundService
{
    private static readonly ActivitySource Source = new("ModelPlatform.Training.Outbox");
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan PublishLease = TimeSpan.FromSeconds(10);
    private readonly SemaphoreSlim _wake = new(0);

    /// <summary>Asks the relay to look for unpublished jobs now rather than at its next poll.</summary>
    public void Wake() => _wake.Release();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PublishPendingAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogPublishFailed(ex);
            }

            try
            {
                await _wake.WaitAsync(PollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task PublishPendingAsync(CancellationToken cancellationToken)
    {
        foreach (var (id, traceParent, maxAttempts) in await jobs.ClaimUnpublishedAsync(limit: 100, PublishLease, cancellationToken))
        {
            // Continue the trace of the request that submitted the job.
            ActivityContext.TryParse(traceParent, null, out var parent);
            using var activity = Source.StartActivity("relay training job", ActivityKind.Internal, parent);
            activity?.SetTag("training.job.id", id);
            await eventBus.PublishAsync(new TrainingJobSubmitted(id), new PublishOptions(maxAttempts), cancellationToken);
            await jobs.MarkPublishedAsync(id, cancellationToken);
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    [LoggerMessage(LogLevel.Warning, "Publishing queued training jobs failed; retrying shortly")]
    private partial void LogPublishFailed(Exception exception);
}
