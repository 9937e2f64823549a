using System.Diagnostics;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using ModelPlatform.Messaging;
using ModelPlatform.ML;

namespace ModelPlatform.Training.Jobs;

/// <summary>
/// Runs one training job: claims it, reads the dataset, trains (or searches) and evaluates, registers the
/// model, and only then marks the job succeeded; the message is acked after this returns.
/// <list type="bullet">
/// <item>A message for a finished or cancelled job does nothing. One for a job another worker holds waits out that worker's
/// current lease once: if the holder died, this delivery takes the job; if it renewed, the holder's own delivery finishes
/// the job, and this one is done (a job never trains twice at once, and the worker is not parked for the job's budget).</item>
/// <item>The heartbeat renews the lease. If it cannot before the lease runs out, another worker may take the job, so
/// training stops and the message is retried.</item>
/// <item>What would fail again fails the job at once: bad data, training that throws, a service refusing the request
/// (<see cref="JobFailures.IsPermanent"/>). Any other error gives the job back to the queue to retry after a growing
/// delay; on its last attempt the job is marked failed and the message goes to the dead-letter queue.</item>
/// <item>When the worker stops, the job goes back to the queue for another worker; a cancel request stops it.</item>
/// </list>
/// </summary>
public sealed partial class TrainingJobSubmittedHandler(
    TrainingJobStore jobs,
    FeatureClient features,
    RegistryClient registry,
    TrainingMetrics metrics,
    MessageContext message,
    IOptions<TrainingOptions> options,
    TimeProvider clock,
    ILogger<TrainingJobSubmittedHandler> logger) : IIntegrationEventHandler<TrainingJobSubmitted>
{
    /// <summary>This process, as it appears in a job's attempts.</summary>
    public static readonly string Worker = $"{Environment.MachineName}:{Environment.ProcessId}";

    private TimeSpan Lease => TimeSpan.FromSeconds(options.Value.LeaseSeconds);

    public async Task HandleAsync(TrainingJobSubmitted @event, CancellationToken stopping)
    {
        var claim = await ClaimAsync(@event.JobId, stopping);
        if (claim.Outcome != ClaimOutcome.Claimed)
        {
            LogSkipped(@event.JobId, claim.Outcome);
            return;
        }

        var job = claim.Job!;
        Activity.Current?.SetTag("training.job.id", job.Id);
        Activity.Current?.SetTag("training.job.attempt", claim.Attempt);
        using var cancelled = new CancellationTokenSource();
        using var running = CancellationTokenSource.CreateLinkedTokenSource(stopping, cancelled.Token);
        var progress = new ProgressHolder();
        var started = Stopwatch.GetTimestamp();
        var heartbeat = HeartbeatAsync(job.Id, progress, cancelled, running.Token);
        try
        {
            await RunAsync(job, claim.DatasetColumns, progress, running.Token);
            metrics.JobFinished(job, "succeeded", Stopwatch.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (progress.RenewalFailure is { } renewal)
        {
            // Without a lease another worker may take the job: stop, and let the message come back to whichever worker.
            LogFailed(renewal, job.Id, claim.Attempt);
            throw new LeaseNotRenewedException(job.Id, renewal);
        }
        catch (OperationCanceledException) when (progress.LeaseLost)
        {
            // Another worker holds the job now and will finish it; this delivery is done.
            LogLeaseLost(job.Id, claim.Attempt);
        }
        catch (OperationCanceledException) when (cancelled.IsCancellationRequested && !stopping.IsCancellationRequested)
        {
            await jobs.EndAsync(job.Id, JobStatus.Cancelled, "cancelled while running", CancellationToken.None);
            metrics.JobFinished(job, "cancelled", Stopwatch.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The bus hands the message back; another worker (or this one after restart) runs the job.
            await jobs.ReleaseAsync(job.Id, Worker, "the worker stopped; the job went back to the queue", CancellationToken.None);
            throw;
        }
        catch (Exception ex) when (JobFailures.IsPermanent(ex))
        {
            // It would fail the same way every time: no retry.
            await jobs.EndAsync(job.Id, JobStatus.Failed, ex.Message, CancellationToken.None);
            metrics.JobFinished(job, "failed", Stopwatch.GetElapsedTime(started));
            LogFailed(ex, job.Id, claim.Attempt);
        }
        catch (Exception ex)
        {
            LogFailed(ex, job.Id, claim.Attempt);
            if (message.IsLastAttempt)
            {
                await jobs.EndAsync(job.Id, JobStatus.Failed, $"failed after {claim.Attempt} attempts: {ex.Message}", CancellationToken.None);
                metrics.JobFinished(job, "failed", Stopwatch.GetElapsedTime(started));
            }
            else
            {
                await jobs.ReleaseAsync(job.Id, Worker, $"attempt {claim.Attempt} failed, retrying: {ex.Message}", CancellationToken.None);
            }

            throw;
        }
        finally
        {
            await cancelled.CancelAsync();
            await heartbeat;
        }
    }

    /// <param name="datasetColumns">The columns the submit found; asked of the feature service only for a job stored without them.</param>
    private async Task RunAsync(TrainingJob job, IReadOnlyList<ColumnSchema>? datasetColumns, ProgressHolder progress, CancellationToken cancellationToken)
    {
        progress.Report(new TrainingProgress("loading-data", 0));
        var columns = datasetColumns ?? (await features.GetVersionAsync(job.Dataset, job.DatasetVersion, cancellationToken))?.Columns ?? throw Gone();
        var table = await features.GetTableAsync(job.Dataset, job.DatasetVersion, columns, cancellationToken) ?? throw Gone();
        var data = TrainingData.Create(table, job.Label, job.Task, job.PositiveClass, job.EntityColumns());
        LogMemory(job.Id, "loaded");

        // Training is CPU-bound: off the consumer's dispatch thread, and stopped through the token.
        var trained = await Task.Run(() => Train(data, job, progress, cancellationToken), cancellationToken).WaitAsync(cancellationToken);
        LogMemory(job.Id, "trained");

        progress.Report(new TrainingProgress("registering", 0));
        var version = await registry.RegisterAsync(
            job.ModelName,
            new RegisterModelVersionRequest(
                trained.Signature,
                trained.Metrics,
                new ModelLineage(job.Dataset, job.DatasetVersion, job.Id, trained.Trainer, job.TrainingSet),
                trained.Importance,
                OnnxExport: trained.OnnxExport is { } export ? new OnnxExportInfo(export.Binding, Reason: export.Reason) : null,
                Reference: trained.Reference),
            trained.Artifact,
            trained.OnnxExport?.Graph,
            cancellationToken);

        foreach (var warning in trained.Warnings)
        {
            LogTrainingWarning(job.Id, warning);
        }

        var report = new TrainingReport(
            trained.Trainer, trained.Hyperparameters, trained.DroppedColumns, trained.Leaderboard, data.Rows, trained.Evaluation, trained.SearchSeconds,
            trained.Warnings, trained.Ensemble);
        await jobs.SucceedAsync(job.Id, trained.Metrics, version.Version, report, CancellationToken.None);
        LogSucceeded(job.Id, job.ModelName, version.Version);

        TrainingDataException Gone() => new($"Dataset '{job.Dataset}' version {job.DatasetVersion} no longer exists.");
    }

    /// <summary>Trains; a failure of the training itself is a <see cref="TrainingFailedException"/>, not retried.</summary>
    private static TrainedModel Train(TrainingData data, TrainingJob job, ProgressHolder progress, CancellationToken cancellationToken)
    {
        try
        {
            return ModelTrainer.Train(data, job.Options.ToSettings(job.Trainer), progress, cancellationToken);
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or TrainingDataException or OutOfMemoryException))
        {
            // Memory may be there on another attempt or worker; nothing else about the run would change.
            throw new TrainingFailedException(ex);
        }
    }

    /// <summary>Claims the job, waiting out the current lease of a worker that holds it once (it may have died).</summary>
    private async Task<Claim> ClaimAsync(Guid jobId, CancellationToken stopping)
    {
        var claim = await jobs.TryClaimAsync(jobId, Worker, Lease, stopping);
        if (claim.Outcome != ClaimOutcome.HeldByAnotherWorker)
        {
            return claim;
        }

        var wait = claim.LeaseUntil!.Value - clock.GetUtcNow() + TimeSpan.FromMilliseconds(500);
        await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.FromMilliseconds(500), clock, stopping);
        return await jobs.TryClaimAsync(jobId, Worker, Lease, stopping);
    }

    /// <summary>
    /// Renews the lease every heartbeat. A failed renewal is tried again at the next beat while the lease lasts (the database
    /// may be busy for a moment); once the lease would run out unrenewed, training stops.
    /// </summary>
    private async Task HeartbeatAsync(Guid jobId, ProgressHolder progress, CancellationTokenSource cancel, CancellationToken running)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.HeartbeatSeconds), clock);
        var renewed = clock.GetUtcNow();
        try
        {
            while (await timer.WaitForNextTickAsync(running))
            {
                try
                {
                    if (await jobs.HeartbeatAsync(jobId, Worker, Lease, progress.Current, running))
                    {
                        await cancel.CancelAsync();
                    }

                    renewed = clock.GetUtcNow();
                }
                catch (Exception ex) when (ex is not (OperationCanceledException or LeaseLostException))
                {
                    LogRenewalFailed(ex, jobId);
                    if (clock.GetUtcNow() + TimeSpan.FromSeconds(options.Value.HeartbeatSeconds) >= renewed + Lease)
                    {
                        progress.RenewalFailure = ex;
                        await cancel.CancelAsync();
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The job ended.
        }
        catch (LeaseLostException)
        {
            progress.LeaseLost = true;
            await cancel.CancelAsync();
        }
    }

    /// <summary>The latest progress of the training run, read by the heartbeat, and whether the job was lost.</summary>
    private sealed class ProgressHolder : IProgress<TrainingProgress>
    {
        public JobProgress Current { get; private set; } = new("starting", 0);

        /// <summary>Set when the heartbeat found another worker holding the job.</summary>
        public bool LeaseLost { get; set; }

        /// <summary>Why the lease could not be renewed before it ran out, when that stopped the job.</summary>
        public Exception? RenewalFailure { get; set; }

        public void Report(TrainingProgress value) => Current = new JobProgress(value.Phase, Math.Round(value.Fraction * 100, 1));
    }

    [LoggerMessage(LogLevel.Information, "Job {JobId}: nothing to do ({Outcome})")]
    private partial void LogSkipped(Guid jobId, ClaimOutcome outcome);

    /// <summary>
    /// Logs the worker's memory at a point of a job (a worker runs one job at a time): what the process holds resident, beside
    /// the managed heap as the GC counted it at its last collection. Resident memory above the GC's committed bytes is the
    /// runtime's own, native memory (LightGBM's), or heap the GC has freed and kept. docs/performance.md reads these lines.
    /// </summary>
    private void LogMemory(Guid jobId, string point)
    {
        var gc = GC.GetGCMemoryInfo();
        LogMemory(jobId, point, MiB(Environment.WorkingSet), MiB(gc.HeapSizeBytes), MiB(gc.FragmentedBytes), MiB(gc.TotalCommittedBytes),
            MiB(GC.GetTotalMemory(forceFullCollection: false)));

        static long MiB(long bytes) => bytes >> 20;
    }

    [LoggerMessage(LogLevel.Information, "Job {JobId} memory when {Point}: resident {ResidentMiB} MiB; managed heap {HeapMiB} MiB at the last GC, "
        + "{FreeMiB} MiB of it free; GC committed {CommittedMiB} MiB; allocated now {AllocatedMiB} MiB")]
    private partial void LogMemory(Guid jobId, string point, long residentMiB, long heapMiB, long freeMiB, long committedMiB, long allocatedMiB);

    [LoggerMessage(LogLevel.Information, "Job {JobId} registered {ModelName} version {Version}")]
    private partial void LogSucceeded(Guid jobId, string modelName, int version);

    [LoggerMessage(LogLevel.Warning, "Job {JobId}: {Warning}")]
    private partial void LogTrainingWarning(Guid jobId, string warning);

    [LoggerMessage(LogLevel.Warning, "Job {JobId} attempt {Attempt}: the lease passed to another worker, which finishes the job")]
    private partial void LogLeaseLost(Guid jobId, int attempt);

    [LoggerMessage(LogLevel.Warning, "Job {JobId}: renewing the lease failed")]
    private partial void LogRenewalFailed(Exception exception, Guid jobId);

    [LoggerMessage(LogLevel.Warning, "Job {JobId} attempt {Attempt} failed")]
    private partial void LogFailed(Exception exception, Guid jobId, int attempt);
}
