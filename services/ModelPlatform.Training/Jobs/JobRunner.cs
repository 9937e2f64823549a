using System.Diagnostics;
using Microsoft.Extensions.Options;
using ModelPlatform.Messaging;
using ModelPlatform.ML;

namespace ModelPlatform.Training.Jobs;

/// <summary>
/// Runs one delivery of a job of any kind (training, batch prediction) under its lease: claims it, runs the work, and ends
/// the job; the message is acked after this returns.
/// <list type="bullet">
/// <item>A message for a finished or cancelled job does nothing. One for a job another worker holds waits out that worker's
/// current lease once: if the holder died, this delivery takes the job; if it renewed, the holder's own delivery finishes
/// the job, and this one is done (a job never runs twice at once, and the worker is not parked for the job's length).</item>
/// <item>The heartbeat renews the lease. If it cannot before the lease runs out, another worker may take the job, so
/// the work stops and the message is retried.</item>
/// <item>What would fail again fails the job at once: bad data, training that throws, a service refusing the request
/// (<see cref="JobFailures.IsPermanent"/>). Any other error gives the job back to the queue to retry after a growing
/// delay; on its last attempt the job is marked failed and the message goes to the dead-letter queue.</item>
/// <item>When the worker stops, the job goes back to the queue for another worker; a cancel request stops it.</item>
/// </list>
/// </summary>
public sealed partial class JobRunner(MessageContext message, IOptions<TrainingOptions> options, TimeProvider clock, ILogger<JobRunner> logger)
{
    /// <summary>This process, as it appears in a job's attempts.</summary>
    public static readonly string Worker = $"{Environment.MachineName}:{Environment.ProcessId}";

    private TimeSpan Lease => TimeSpan.FromSeconds(options.Value.LeaseSeconds);

    /// <summary>
    /// Runs <paramref name="work"/> on the job if this delivery gets it; the work marks the job succeeded itself, in the same
    /// transaction as what it produced. <paramref name="finished"/> hears how every run this delivery made ended
    /// (<c>succeeded</c>, <c>failed</c>, <c>cancelled</c>) and how long it took.
    /// </summary>
    public async Task RunAsync<TJob>(
        LeasedJobStore<TJob> jobs,
        Guid jobId,
        Func<TJob, IProgress<TrainingProgress>, CancellationToken, Task> work,
        Action<TJob, string, TimeSpan> finished,
        CancellationToken stopping) where TJob : class
    {
        var claim = await ClaimAsync(jobs, jobId, stopping);
        if (claim.Outcome != ClaimOutcome.Claimed)
        {
            LogSkipped(jobId, claim.Outcome);
            return;
        }

        var job = claim.Job!;
        Activity.Current?.SetTag("job.id", jobId);
        Activity.Current?.SetTag("job.attempt", claim.Attempt);
        using var cancelled = new CancellationTokenSource();
        using var running = CancellationTokenSource.CreateLinkedTokenSource(stopping, cancelled.Token);
        var progress = new ProgressHolder();
        var started = Stopwatch.GetTimestamp();
        var heartbeat = HeartbeatAsync(jobs, jobId, progress, cancelled, running.Token);
        try
        {
            await work(job, progress, running.Token);
            finished(job, "succeeded", Stopwatch.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (progress.RenewalFailure is { } renewal)
        {
            // Without a lease another worker may take the job: stop, and let the message come back to whichever worker.
            LogFailed(renewal, jobId, claim.Attempt);
            throw new LeaseNotRenewedException(jobId, renewal);
        }
        catch (OperationCanceledException) when (progress.LeaseLost)
        {
            // Another worker holds the job now and will finish it; this delivery is done.
            LogLeaseLost(jobId, claim.Attempt);
        }
        catch (OperationCanceledException) when (cancelled.IsCancellationRequested && !stopping.IsCancellationRequested)
        {
            await jobs.EndAsync(jobId, JobStatus.Cancelled, "cancelled while running", CancellationToken.None);
            finished(job, "cancelled", Stopwatch.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The bus hands the message back; another worker (or this one after restart) runs the job.
            await jobs.ReleaseAsync(jobId, Worker, "the worker stopped; the job went back to the queue", CancellationToken.None);
            throw;
        }
        catch (Exception ex) when (JobFailures.IsPermanent(ex))
        {
            // It would fail the same way every time: no retry.
            await jobs.EndAsync(jobId, JobStatus.Failed, ex.Message, CancellationToken.None);
            finished(job, "failed", Stopwatch.GetElapsedTime(started));
            LogFailed(ex, jobId, claim.Attempt);
        }
        catch (Exception ex)
        {
            LogFailed(ex, jobId, claim.Attempt);
            if (message.IsLastAttempt)
            {
                await jobs.EndAsync(jobId, JobStatus.Failed, $"failed after {claim.Attempt} attempts: {ex.Message}", CancellationToken.None);
                finished(job, "failed", Stopwatch.GetElapsedTime(started));
            }
            else
            {
                await jobs.ReleaseAsync(jobId, Worker, $"attempt {claim.Attempt} failed, retrying: {ex.Message}", CancellationToken.None);
            }

            throw;
        }
        finally
        {
            await cancelled.CancelAsync();
            await heartbeat;
        }
    }

    /// <summary>Claims the job, waiting out the current lease of a worker that holds it once (it may have died).</summary>
    private async Task<Claim<TJob>> ClaimAsync<TJob>(LeasedJobStore<TJob> jobs, Guid jobId, CancellationToken stopping) where TJob : class
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
    /// may be busy for a moment); once the lease would run out unrenewed, the work stops.
    /// </summary>
    private async Task HeartbeatAsync<TJob>(
        LeasedJobStore<TJob> jobs, Guid jobId, ProgressHolder progress, CancellationTokenSource cancel, CancellationToken running) where TJob : class
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

    /// <summary>The latest progress of the work, read by the heartbeat, and whether the job was lost.</summary>
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

    [LoggerMessage(LogLevel.Warning, "Job {JobId} attempt {Attempt}: the lease passed to another worker, which finishes the job")]
    private partial void LogLeaseLost(Guid jobId, int attempt);

    [LoggerMessage(LogLevel.Warning, "Job {JobId}: renewing the lease failed")]
    private partial void LogRenewalFailed(Exception exception, Guid jobId);

    [LoggerMessage(LogLevel.Warning, "Job {JobId} attempt {Attempt} failed")]
    private partial void LogFailed(Exception exception, Guid jobId, int attempt);
}
