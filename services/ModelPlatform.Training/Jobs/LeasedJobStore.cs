using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Dapper;
using ModelPlatform.Contracts;
using ModelPlatform.Messaging;
using ModelPlatform.Storage;

namespace ModelPlatform.Training.Jobs;

/// <summary>
/// What every kind of job this service queues shares, whatever the job does (training, batch prediction), over the kind's
/// own table in the service's database:
/// <list type="bullet">
/// <item>The job is announced through the outbox in the transaction that stores it, so accepting a job and publishing it
/// can never disagree (see <see cref="OutboxRelay"/>).</item>
/// <item>A worker runs a job only while it holds the job's lease, renewed by heartbeats; a worker that dies
/// stops renewing, and another may take the job once the lease has run out. So a message delivered twice
/// never runs the job twice at once.</item>
/// <item>Every attempt and every status change is recorded with its time (<c>job_attempts</c>, <c>job_events</c>, shared by
/// every kind: job ids are unique across them).</item>
/// </list>
/// The table has the columns <c>id, status, priority, attempts, max_attempts, lease_owner, lease_until, cancel_requested,
/// phase, percent, started_at, finished_at, error</c>.
/// </summary>
public abstract class LeasedJobStore<TJob>(ServiceDatabase database, TimeProvider clock) : IQueuedJobs where TJob : class
{
    protected static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    protected ServiceDatabase Database => database;

    protected TimeProvider Clock => clock;

    /// <summary>The kind's table.</summary>
    protected abstract string Table { get; }

    /// <summary>The kind's jobs as resources (the audit's and the write lock's): <c>training-jobs</c>, <c>batch-predictions</c>.</summary>
    public abstract string Resources { get; }

    /// <summary>How the audit names the kind's actions: <c>training-job</c>, <c>batch-prediction</c>.</summary>
    protected abstract string AuditName { get; }

    /// <summary>The message that sends a job to a worker, in its priority's lane.</summary>
    protected abstract IntegrationEvent Message(Guid id, JobPriority priority);

    /// <summary>
    /// The kind's jobs that <paramref name="filter"/> (a WHERE clause, perhaps with an ORDER BY and LIMIT, over the table's
    /// columns) selects, without their attempts and history.
    /// </summary>
    protected abstract Task<IReadOnlyList<TJob>> QueryAsync(
        DbConnection connection, string filter, object parameters, DbTransaction? transaction, CancellationToken cancellationToken);

    /// <summary>The job with its attempts and status history.</summary>
    protected abstract TJob WithHistory(TJob job, IReadOnlyList<JobAttempt> attempts, IReadOnlyList<JobStatusChange> history);

    protected string Resource(Guid id) => $"{Resources}/{id}";

    /// <summary>Records a queued job's first event and audit record, and puts its message in the outbox, in the job's transaction.</summary>
    protected async Task AnnounceAsync(
        DbConnection connection, DbTransaction transaction, Guid id, object job, JobPriority priority, int maxAttempts, AuditActor actor,
        DateTimeOffset at)
    {
        await AddEventAsync(connection, transaction, id, JobStatus.Queued, "submitted", at);
        await connection.AppendAsync(transaction, actor, $"{AuditName}.submitted", Resource(id), null, job, at);
        await connection.EnqueueAsync(transaction, Message(id, priority), at, id.ToString(), new PublishOptions(maxAttempts));
    }

    /// <summary>A job with its attempts and status history; null when there is no such job.</summary>
    public async Task<TJob?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        if ((await QueryAsync(connection, "WHERE id = @id", new { id = id.ToString() }, null, cancellationToken)).SingleOrDefault() is not { } job)
        {
            return null;
        }

        var (attempts, history) = await ReadHistoryAsync(connection, id, cancellationToken);
        return WithHistory(job, attempts, history);
    }

    /// <summary>Jobs newest first, optionally of one status or one model.</summary>
    public async Task<IReadOnlyList<TJob>> ListAsync(JobStatus? status, string? model, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await QueryAsync(
            connection,
            "WHERE (@status IS NULL OR status = @status) AND (@model IS NULL OR model_name = @model) ORDER BY created_at DESC LIMIT @limit",
            new { status = status is null ? null : Text(status.Value), model, limit }, null, cancellationToken);
    }

    /// <summary>A job's attempts and status history, oldest first.</summary>
    private static async Task<(List<JobAttempt> Attempts, List<JobStatusChange> History)> ReadHistoryAsync(
        DbConnection connection, Guid id, CancellationToken cancellationToken)
    {
        var attempts = await connection.QueryAsync<(long Attempt, string Worker, string StartedAt, string? FinishedAt, string? Error)>(new CommandDefinition(
            "SELECT attempt, worker, started_at, finished_at, error FROM job_attempts WHERE job_id = @id ORDER BY attempt",
            new { id = id.ToString() }, cancellationToken: cancellationToken));
        var history = await connection.QueryAsync<(string Status, string At, string? Detail)>(new CommandDefinition(
            "SELECT status, at, detail FROM job_events WHERE job_id = @id ORDER BY at, seq",
            new { id = id.ToString() }, cancellationToken: cancellationToken));
        return (
            [.. attempts.Select(a => new JobAttempt((int)a.Attempt, a.Worker, Time(a.StartedAt)!.Value, Time(a.FinishedAt), a.Error))],
            [.. history.Select(h => new JobStatusChange(Parse<JobStatus>(h.Status), Time(h.At)!.Value, h.Detail))]);
    }

    /// <summary>
    /// Takes the job for <paramref name="worker"/> if nobody else holds it: queued, or running under a lease
    /// that has run out (its worker died). Starts a new attempt, and returns the job as claimed.
    /// </summary>
    public async Task<Claim<TJob>> TryClaimAsync(Guid id, string worker, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(id), cancellationToken);
        var job = await connection.QuerySingleOrDefaultAsync<(string Status, string? LeaseUntil, long CancelRequested, long Attempts, long MaxAttempts)>(
            $"SELECT status, lease_until, cancel_requested, attempts, max_attempts FROM {Table} WHERE id = @id", new { id = id.ToString() }, transaction);
        var now = clock.GetUtcNow();
        if (job.Status is null)
        {
            return new Claim<TJob>(ClaimOutcome.Missing);
        }

        var status = Parse<JobStatus>(job.Status);
        if (status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled)
        {
            return new Claim<TJob>(ClaimOutcome.Finished);
        }

        if (status == JobStatus.Running && Time(job.LeaseUntil) is { } leaseUntil && leaseUntil > now)
        {
            return new Claim<TJob>(ClaimOutcome.HeldByAnotherWorker, LeaseUntil: leaseUntil);
        }

        var parameters = new { id = id.ToString(), worker, now = now.ToString("O"), until = (now + lease).ToString("O"), attempt = job.Attempts + 1 };
        // A running job whose lease ran out lost its worker: close that attempt.
        await connection.ExecuteAsync(
            """
            UPDATE job_attempts SET finished_at = @now, error = 'the worker stopped before finishing (its lease ran out)'
            WHERE job_id = @id AND finished_at IS NULL
            """,
            parameters, transaction);
        if (job.CancelRequested != 0)
        {
            await FinishAsync(connection, transaction, id, JobStatus.Cancelled, "cancelled before it started", now);
            await transaction.CommitAsync(cancellationToken);
            return new Claim<TJob>(ClaimOutcome.Finished);
        }

        // Checked here, not only when a handler fails: a job that kills its worker (out of memory, say) comes back
        // without the message's attempt count rising, and would otherwise crash the workers one after another.
        if (job.Attempts >= job.MaxAttempts)
        {
            await FinishAsync(connection, transaction, id, JobStatus.Failed,
                $"gave up after {job.Attempts} attempts, the last of which stopped its worker before finishing", now);
            await transaction.CommitAsync(cancellationToken);
            return new Claim<TJob>(ClaimOutcome.Finished);
        }

        await connection.ExecuteAsync(
            $"""
            UPDATE {Table} SET status = 'running', lease_owner = @worker, lease_until = @until, attempts = @attempt,
                started_at = COALESCE(started_at, @now), phase = 'starting', percent = 0
            WHERE id = @id
            """,
            parameters, transaction);
        await connection.ExecuteAsync(
            "INSERT INTO job_attempts (job_id, attempt, worker, started_at) VALUES (@id, @attempt, @worker, @now)", parameters, transaction);
        await AddEventAsync(connection, transaction, id, JobStatus.Running, $"attempt {parameters.attempt} on {worker}", now);
        var claimed = (await QueryAsync(connection, "WHERE id = @id", new { id = id.ToString() }, transaction, cancellationToken)).Single();
        await transaction.CommitAsync(cancellationToken);
        return new Claim<TJob>(ClaimOutcome.Claimed, claimed, (int)parameters.attempt);
    }

    /// <summary>
    /// Renews the worker's lease and records progress. Returns whether the job has been asked to cancel;
    /// throws <see cref="LeaseLostException"/> when the worker no longer holds the job.
    /// </summary>
    public async Task<bool> HeartbeatAsync(Guid id, string worker, TimeSpan lease, JobProgress progress, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var cancelRequested = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
            $"""
            UPDATE {Table} SET lease_until = @until, phase = @phase, percent = @percent
            WHERE id = @id AND lease_owner = @worker AND status = 'running'
            RETURNING cancel_requested
            """,
            new { id = id.ToString(), worker, until = (clock.GetUtcNow() + lease).ToString("O"), phase = progress.Phase, percent = progress.Percent },
            cancellationToken: cancellationToken));
        return cancelRequested is null ? throw new LeaseLostException(id) : cancelRequested != 0;
    }

    /// <summary>Ends the job: failed (with the reason) or cancelled.</summary>
    public async Task EndAsync(Guid id, JobStatus status, string reason, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(id), cancellationToken);
        if (status == JobStatus.Failed)
        {
            await connection.ExecuteAsync($"UPDATE {Table} SET error = @reason WHERE id = @id", new { id = id.ToString(), reason }, transaction);
        }

        await FinishAsync(connection, transaction, id, status, reason, clock.GetUtcNow());
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Gives the job back to the queue (to retry after an error, or because its worker is stopping).</summary>
    public async Task ReleaseAsync(Guid id, string worker, string reason, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(id), cancellationToken);
        var now = clock.GetUtcNow();
        var released = await connection.ExecuteAsync(
            $"""
            UPDATE {Table} SET status = 'queued', lease_owner = NULL, lease_until = NULL, phase = NULL, percent = NULL
            WHERE id = @id AND lease_owner = @worker
            """,
            new { id = id.ToString(), worker }, transaction);
        if (released > 0)
        {
            await CloseAttemptAsync(connection, transaction, id, reason, now);
            await AddEventAsync(connection, transaction, id, JobStatus.Queued, reason, now);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Cancels a queued job at once, or asks a running one to stop (its worker checks at every heartbeat).
    /// Returns null when the job does not exist, and the job unchanged when it had already finished.
    /// </summary>
    public async Task<TJob?> RequestCancelAsync(Guid id, AuditActor actor, CancellationToken cancellationToken) =>
        await TryRequestCancelAsync(id, actor, cancellationToken) ? await GetAsync(id, cancellationToken) : null;

    /// <summary>Cancels or asks to stop (<see cref="RequestCancelAsync"/>); false when the job does not exist.</summary>
    private async Task<bool> TryRequestCancelAsync(Guid id, AuditActor actor, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(id), cancellationToken);
        var status = await connection.ExecuteScalarAsync<string?>($"SELECT status FROM {Table} WHERE id = @id", new { id = id.ToString() }, transaction);
        if (status is null)
        {
            return false;
        }

        var now = clock.GetUtcNow();
        switch (Parse<JobStatus>(status))
        {
            case JobStatus.Queued:
                await FinishAsync(connection, transaction, id, JobStatus.Cancelled, "cancelled while queued", now);
                await connection.AppendAsync(transaction, actor, $"{AuditName}.cancelled", Resource(id),
                    new { status }, new { status = Text(JobStatus.Cancelled) }, now);
                break;
            case JobStatus.Running:
                await connection.ExecuteAsync($"UPDATE {Table} SET cancel_requested = 1 WHERE id = @id", new { id = id.ToString() }, transaction);
                await connection.AppendAsync(transaction, actor, $"{AuditName}.cancel-requested", Resource(id),
                    new { status }, new { status, cancelRequested = true }, now);
                break;
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>
    /// Sends again every job that nobody runs long after its message went out (<paramref name="republishAfter"/>): still
    /// queued, because the message was dead-lettered before any worker claimed it, or running under a lease that ran out
    /// that long ago. A job sent twice is harmless: the consumer skips a job that has finished or that a live worker holds.
    /// Each goes in its priority's lane again. Returns how many were sent again.
    /// </summary>
    public async Task<int> RepublishStuckAsync(TimeSpan republishAfter, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // Replicas sweeping at once serialize here, and the second sees the first one's message pending.
        await using var transaction = await database.BeginWriteAsync(connection, $"{Resources}/stuck", cancellationToken);
        var now = clock.GetUtcNow();
        var stale = now - republishAfter;
        var stuck = (await connection.QueryAsync<(string Id, long MaxAttempts, string Priority)>(
            $"""
            SELECT j.id, j.max_attempts, j.priority FROM {Table} j
            WHERE (j.status = 'queued' OR (j.status = 'running' AND j.lease_until < @stale))
              AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.subject = j.id AND (o.published_at IS NULL OR o.published_at >= @stale))
            """,
            new { stale = stale.ToString("O") }, transaction)).ToList();
        foreach (var (id, maxAttempts, priority) in stuck)
        {
            await connection.EnqueueAsync(transaction, Message(Guid.Parse(id), Parse<JobPriority>(priority)), now, id, new PublishOptions((int)maxAttempts));
        }

        await transaction.CommitAsync(cancellationToken);
        return stuck.Count;
    }

    /// <summary>Ends the job as <paramref name="status"/>, closing its attempt and recording why.</summary>
    protected async Task FinishAsync(
        DbConnection connection, DbTransaction transaction, Guid id, JobStatus status, string detail, DateTimeOffset now)
    {
        await connection.ExecuteAsync(
            $"""
            UPDATE {Table} SET status = @status, finished_at = @now, lease_owner = NULL, lease_until = NULL,
                phase = NULL, percent = CASE WHEN @status = 'succeeded' THEN 100 ELSE percent END
            WHERE id = @id
            """,
            new { id = id.ToString(), status = Text(status), now = now.ToString("O") }, transaction);
        await CloseAttemptAsync(connection, transaction, id, status == JobStatus.Succeeded ? null : detail, now);
        await AddEventAsync(connection, transaction, id, status, detail, now);
    }

    private static Task CloseAttemptAsync(DbConnection connection, DbTransaction transaction, Guid id, string? error, DateTimeOffset now) =>
        connection.ExecuteAsync(
            "UPDATE job_attempts SET finished_at = @now, error = @error WHERE job_id = @id AND finished_at IS NULL",
            new { id = id.ToString(), error, now = now.ToString("O") }, transaction);

    private static Task AddEventAsync(
        DbConnection connection, DbTransaction transaction, Guid id, JobStatus status, string? detail, DateTimeOffset at) =>
        connection.ExecuteAsync(
            "INSERT INTO job_events (job_id, at, status, detail) VALUES (@id, @at, @status, @detail)",
            new { id = id.ToString(), at = at.ToString("O"), status = Text(status), detail }, transaction);

    protected static string Text<TEnum>(TEnum value) where TEnum : struct, Enum => JsonSerializer.Serialize(value, Json).Trim('"');

    protected static TEnum Parse<TEnum>(string text) where TEnum : struct, Enum => JsonSerializer.Deserialize<TEnum>($"\"{text}\"", Json);

    protected static DateTimeOffset? Time(string? text) => text is null ? null : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);
}

/// <summary>A kind of queued job, as the <see cref="StuckJobSweeper"/> sees it.</summary>
public interface IQueuedJobs
{
    /// <summary>The kind's jobs as resources: <c>training-jobs</c>, <c>batch-predictions</c>.</summary>
    string Resources { get; }

    /// <summary>Sends again the jobs nobody runs long after their message went out; returns how many.</summary>
    Task<int> RepublishStuckAsync(TimeSpan republishAfter, CancellationToken cancellationToken);
}

public enum ClaimOutcome
{
    Claimed,
    HeldByAnotherWorker,
    Finished,
    Missing,
}

/// <summary>What a worker's claim on a job came to. When <see cref="ClaimOutcome.Claimed"/>: the job, and the attempt it starts.</summary>
public sealed record Claim<TJob>(ClaimOutcome Outcome, TJob? Job = null, int Attempt = 0, DateTimeOffset? LeaseUntil = null) where TJob : class;

/// <summary>The worker no longer holds the job (its lease ran out and another worker took it).</summary>
public sealed class LeaseLostException(Guid jobId) : Exception($"The lease on job {jobId} was lost to another worker.");

/// <summary>The worker could not renew its lease on a job before it ran out, so it stopped; the job's message is retried.</summary>
public sealed class LeaseNotRenewedException(Guid jobId, Exception cause)
    : Exception($"The lease on job {jobId} could not be renewed before it ran out: {cause.Message}", cause);
