using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dapper;
using ModelPlatform.Contracts;
using ModelPlatform.Messaging;
using ModelPlatform.Storage;

namespace ModelPlatform.Training.Jobs;

/// <summary>
/// Training jobs in the service's database, shared by every replica of the service.
/// <list type="bullet">
/// <item>The job row doubles as its outbox record: <c>published_at</c> stays null until the broker has confirmed
/// the job's message, so accepting a job and publishing it can never disagree (see <see cref="OutboxRelay"/>).</item>
/// <item>A worker runs a job only while it holds the job's lease, renewed by heartbeats; a worker that dies
/// stops renewing, and another may take the job once the lease has run out. So a message delivered twice
/// never trains twice at once.</item>
/// <item>Every attempt and every status change is recorded with its time.</item>
/// </list>
/// </summary>
public sealed class TrainingJobStore(ServiceDatabase database, TimeProvider clock)
{
    /// <summary>The database schema, one migration per entry; add new ones at the end.</summary>
    public static readonly Migration[] Migrations =
    [
        Migration.Portable(
            """
                CREATE TABLE IF NOT EXISTS training_jobs (
                    id TEXT PRIMARY KEY,
                    status TEXT NOT NULL,
                    model_name TEXT NOT NULL,
                    dataset TEXT NOT NULL,
                    dataset_version INTEGER NOT NULL,
                    label TEXT NOT NULL,
                    task TEXT NOT NULL,
                    trainer TEXT NOT NULL,
                    positive_class TEXT,
                    metrics TEXT,
                    model_version INTEGER,
                    error TEXT,
                    trace_parent TEXT,
                    created_at TEXT NOT NULL,
                    started_at TEXT,
                    finished_at TEXT,
                    published_at TEXT);
                CREATE INDEX IF NOT EXISTS ix_training_jobs_unpublished ON training_jobs (created_at) WHERE published_at IS NULL;
            """),
        Migration.Portable(
            """
                ALTER TABLE training_jobs ADD COLUMN options TEXT NOT NULL DEFAULT '{"budgetSeconds":60,"folds":5,"seed":42,"maxAttempts":3}';
                ALTER TABLE training_jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE training_jobs ADD COLUMN lease_owner TEXT;
                ALTER TABLE training_jobs ADD COLUMN lease_until TEXT;
                ALTER TABLE training_jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE training_jobs ADD COLUMN phase TEXT;
                ALTER TABLE training_jobs ADD COLUMN percent REAL;
                ALTER TABLE training_jobs ADD COLUMN report TEXT;
                ALTER TABLE training_jobs ADD COLUMN publish_lease_until TEXT;
                CREATE TABLE job_attempts (
                    job_id TEXT NOT NULL,
                    attempt INTEGER NOT NULL,
                    worker TEXT NOT NULL,
                    started_at TEXT NOT NULL,
                    finished_at TEXT,
                    error TEXT,
                    PRIMARY KEY (job_id, attempt));
                CREATE TABLE job_events (
                    job_id TEXT NOT NULL,
                    at TEXT NOT NULL,
                    status TEXT NOT NULL,
                    detail TEXT);
                CREATE INDEX ix_job_events_job ON job_events (job_id, at);
                CREATE INDEX ix_training_jobs_status ON training_jobs (status, created_at);
            """),
        // The dataset's columns as the submit resolved them, so the worker need not ask the feature service again.
        Migration.Portable("ALTER TABLE training_jobs ADD COLUMN dataset_columns TEXT;"),
        AuditLog.Migration,
        // Jobs are announced through the shared outbox; jobs accepted but not yet sent move into it.
        Outbox.Migration + new Migration(
            Sqlite: """
                INSERT INTO outbox (event_type, subject, payload, max_attempts, trace_parent, created_at)
                SELECT 'TrainingJobSubmitted', id, json_object('jobId', id), json_extract(options, '$.maxAttempts'), trace_parent, created_at
                FROM training_jobs WHERE published_at IS NULL AND status = 'queued' ORDER BY created_at;
                """,
            Postgres: """
                INSERT INTO outbox (event_type, subject, payload, max_attempts, trace_parent, created_at)
                SELECT 'TrainingJobSubmitted', id, json_build_object('jobId', id)::text, (options::json ->> 'maxAttempts')::bigint, trace_parent,
                    created_at
                FROM training_jobs WHERE published_at IS NULL AND status = 'queued' ORDER BY created_at;
                """),
        // A job's status changes in the order they happened, by a number of their own rather than SQLite's rowid.
        new(
            Sqlite: """
                CREATE TABLE job_events_numbered (
                    seq INTEGER PRIMARY KEY,
                    job_id TEXT NOT NULL,
                    at TEXT NOT NULL,
                    status TEXT NOT NULL,
                    detail TEXT);
                INSERT INTO job_events_numbered (seq, job_id, at, status, detail) SELECT rowid, job_id, at, status, detail FROM job_events;
                DROP TABLE job_events;
                ALTER TABLE job_events_numbered RENAME TO job_events;
                CREATE INDEX ix_job_events_job ON job_events (job_id, at);
                """,
            Postgres: "ALTER TABLE job_events ADD COLUMN seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY;"),
        AuditLog.IsoTimesMigration(),
        // For a job trained from a feature service: what its training set was joined from (TrainingSetLineage, JSON).
        Migration.Portable("ALTER TABLE training_jobs ADD COLUMN training_set TEXT;"),
    ];

    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    private const string SelectJob = """
        SELECT id AS Id, status AS Status, model_name AS ModelName, dataset AS Dataset, dataset_version AS DatasetVersion,
               label AS Label, task AS Task, trainer AS Trainer, positive_class AS PositiveClass, options AS Options,
               phase AS Phase, percent AS Percent, cancel_requested AS CancelRequested, metrics AS Metrics,
               model_version AS ModelVersion, error AS Error, report AS Report,
               created_at AS CreatedAt, started_at AS StartedAt, finished_at AS FinishedAt, dataset_columns AS DatasetColumns,
               training_set AS TrainingSet
        FROM training_jobs
        """;

    /// <summary>
    /// Stores a queued job with the columns of the dataset version it trains on, remembering the caller's trace so the
    /// job's message continues it.
    /// </summary>
    public async Task<TrainingJob> AddAsync(
        TrainingJob job, IReadOnlyList<ColumnSchema> datasetColumns, AuditActor actor, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(job.Id), cancellationToken);
        await connection.ExecuteAsync(
            """
            INSERT INTO training_jobs (id, status, model_name, dataset, dataset_version, dataset_columns, training_set, label, task,
                trainer, positive_class, options, trace_parent, created_at)
            VALUES (@id, 'queued', @modelName, @dataset, @datasetVersion, @datasetColumns, @trainingSet, @label, @task,
                @trainer, @positiveClass, @options, @traceParent, @createdAt)
            """,
            new
            {
                id = job.Id.ToString(),
                modelName = job.ModelName,
                dataset = job.Dataset,
                datasetVersion = job.DatasetVersion,
                datasetColumns = JsonSerializer.Serialize(datasetColumns, Json),
                trainingSet = job.TrainingSet is null ? null : JsonSerializer.Serialize(job.TrainingSet, Json),
                label = job.Label,
                task = Text(job.Task),
                trainer = job.Trainer,
                positiveClass = job.PositiveClass,
                options = JsonSerializer.Serialize(job.Options, Json),
                traceParent = Activity.Current?.Id,
                createdAt = job.CreatedAt.ToString("O"),
            },
            transaction);
        await AddEventAsync(connection, transaction, job.Id, JobStatus.Queued, "submitted", job.CreatedAt);
        await connection.AppendAsync(transaction, actor, "training-job.submitted", Resource(job.Id), null, job, job.CreatedAt);
        await connection.EnqueueAsync(
            transaction, new TrainingJobSubmitted(job.Id), job.CreatedAt, job.Id.ToString(), new PublishOptions(job.Options.MaxAttempts));
        await transaction.CommitAsync(cancellationToken);
        return job;
    }

    private static string Resource(Guid id) => $"training-jobs/{id}";

    /// <summary>A job with its attempts and status history.</summary>
    public async Task<TrainingJob?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<JobRow>(new CommandDefinition(
            SelectJob + " WHERE id = @id", new { id = id.ToString() }, cancellationToken: cancellationToken));
        if (row is null)
        {
            return null;
        }

        var attempts = await connection.QueryAsync<(long Attempt, string Worker, string StartedAt, string? FinishedAt, string? Error)>(new CommandDefinition(
            "SELECT attempt, worker, started_at, finished_at, error FROM job_attempts WHERE job_id = @id ORDER BY attempt",
            new { id = id.ToString() }, cancellationToken: cancellationToken));
        var history = await connection.QueryAsync<(string Status, string At, string? Detail)>(new CommandDefinition(
            "SELECT status, at, detail FROM job_events WHERE job_id = @id ORDER BY at, seq",
            new { id = id.ToString() }, cancellationToken: cancellationToken));
        return row.ToJob() with
        {
            Attempts = attempts.Select(a => new JobAttempt((int)a.Attempt, a.Worker, Time(a.StartedAt)!.Value, Time(a.FinishedAt), a.Error)).ToList(),
            History = history.Select(h => new JobStatusChange(Parse<JobStatus>(h.Status), Time(h.At)!.Value, h.Detail)).ToList(),
        };
    }

    public async Task<IReadOnlyList<TrainingJob>> ListAsync(JobStatus? status, string? modelName, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<JobRow>(new CommandDefinition(
            SelectJob + """
                 WHERE (@status IS NULL OR status = @status) AND (@modelName IS NULL OR model_name = @modelName)
                ORDER BY created_at DESC LIMIT @limit
                """,
            new { status = status is null ? null : Text(status.Value), modelName, limit }, cancellationToken: cancellationToken));
        return rows.Select(row => row.ToJob()).ToList();
    }

    /// <summary>
    /// Takes the job for <paramref name="worker"/> if nobody else holds it: queued, or running under a lease
    /// that has run out (its worker died). Starts a new attempt, and returns the job as claimed.
    /// </summary>
    public async Task<Claim> TryClaimAsync(Guid id, string worker, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(id), cancellationToken);
        var job = await connection.QuerySingleOrDefaultAsync<(string Status, string? LeaseUntil, long CancelRequested, long Attempts, string Options)>(
            "SELECT status, lease_until, cancel_requested, attempts, options FROM training_jobs WHERE id = @id", new { id = id.ToString() }, transaction);
        var now = clock.GetUtcNow();
        if (job.Status is null)
        {
            return new Claim(ClaimOutcome.Missing);
        }

        var status = Parse<JobStatus>(job.Status);
        if (status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled)
        {
            return new Claim(ClaimOutcome.Finished);
        }

        if (status == JobStatus.Running && Time(job.LeaseUntil) is { } leaseUntil && leaseUntil > now)
        {
            return new Claim(ClaimOutcome.HeldByAnotherWorker, LeaseUntil: leaseUntil);
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
            return new Claim(ClaimOutcome.Finished);
        }

        // Checked here, not only when a handler fails: a job that kills its worker (out of memory, say) comes back
        // without the message's attempt count rising, and would otherwise crash the workers one after another.
        var maxAttempts = JsonSerializer.Deserialize<TrainingJobOptions>(job.Options, Json)!.MaxAttempts;
        if (job.Attempts >= maxAttempts)
        {
            await FinishAsync(connection, transaction, id, JobStatus.Failed,
                $"gave up after {job.Attempts} attempts, the last of which stopped its worker before finishing", now);
            await transaction.CommitAsync(cancellationToken);
            return new Claim(ClaimOutcome.Finished);
        }

        await connection.ExecuteAsync(
            """
            UPDATE training_jobs SET status = 'running', lease_owner = @worker, lease_until = @until, attempts = @attempt,
                started_at = COALESCE(started_at, @now), phase = 'starting', percent = 0
            WHERE id = @id
            """,
            parameters, transaction);
        await connection.ExecuteAsync(
            "INSERT INTO job_attempts (job_id, attempt, worker, started_at) VALUES (@id, @attempt, @worker, @now)", parameters, transaction);
        await AddEventAsync(connection, transaction, id, JobStatus.Running, $"attempt {parameters.attempt} on {worker}", now);
        var claimed = await connection.QuerySingleAsync<JobRow>(SelectJob + " WHERE id = @id", parameters, transaction);
        await transaction.CommitAsync(cancellationToken);
        return new Claim(ClaimOutcome.Claimed, claimed.ToJob(), (int)parameters.attempt,
            claimed.DatasetColumns is null ? null : JsonSerializer.Deserialize<List<ColumnSchema>>(claimed.DatasetColumns, Json));
    }

    /// <summary>
    /// Renews the worker's lease and records progress. Returns whether the job has been asked to cancel;
    /// throws <see cref="LeaseLostException"/> when the worker no longer holds the job.
    /// </summary>
    public async Task<bool> HeartbeatAsync(Guid id, string worker, TimeSpan lease, JobProgress progress, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var cancelRequested = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
            """
            UPDATE training_jobs SET lease_until = @until, phase = @phase, percent = @percent
            WHERE id = @id AND lease_owner = @worker AND status = 'running'
            RETURNING cancel_requested
            """,
            new { id = id.ToString(), worker, until = (clock.GetUtcNow() + lease).ToString("O"), phase = progress.Phase, percent = progress.Percent },
            cancellationToken: cancellationToken));
        return cancelRequested is null ? throw new LeaseLostException(id) : cancelRequested != 0;
    }

    public async Task SucceedAsync(
        Guid id, IReadOnlyDictionary<string, double> metrics, int modelVersion, TrainingReport report, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(id), cancellationToken);
        await connection.ExecuteAsync(
            "UPDATE training_jobs SET metrics = @metrics, model_version = @modelVersion, report = @report, error = NULL WHERE id = @id",
            new { id = id.ToString(), metrics = JsonSerializer.Serialize(metrics, Json), modelVersion, report = JsonSerializer.Serialize(report, Json) },
            transaction);
        await FinishAsync(connection, transaction, id, JobStatus.Succeeded, $"registered {modelVersion}", clock.GetUtcNow());
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Ends the job: failed (with the reason) or cancelled.</summary>
    public async Task EndAsync(Guid id, JobStatus status, string reason, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(id), cancellationToken);
        if (status == JobStatus.Failed)
        {
            await connection.ExecuteAsync("UPDATE training_jobs SET error = @reason WHERE id = @id", new { id = id.ToString(), reason }, transaction);
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
            """
            UPDATE training_jobs SET status = 'queued', lease_owner = NULL, lease_until = NULL, phase = NULL, percent = NULL
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
    public async Task<TrainingJob?> RequestCancelAsync(Guid id, AuditActor actor, CancellationToken cancellationToken)
    {
        await using (var connection = await database.OpenAsync(cancellationToken))
        await using (var transaction = await database.BeginWriteAsync(connection, Resource(id), cancellationToken))
        {
            var status = await connection.ExecuteScalarAsync<string?>(
                "SELECT status FROM training_jobs WHERE id = @id", new { id = id.ToString() }, transaction);
            if (status is null)
            {
                return null;
            }

            var now = clock.GetUtcNow();
            switch (Parse<JobStatus>(status))
            {
                case JobStatus.Queued:
                    await FinishAsync(connection, transaction, id, JobStatus.Cancelled, "cancelled while queued", now);
                    await connection.AppendAsync(transaction, actor, "training-job.cancelled", Resource(id),
                        new { status }, new { status = Text(JobStatus.Cancelled) }, now);
                    break;
                case JobStatus.Running:
                    await connection.ExecuteAsync("UPDATE training_jobs SET cancel_requested = 1 WHERE id = @id", new { id = id.ToString() }, transaction);
                    await connection.AppendAsync(transaction, actor, "training-job.cancel-requested", Resource(id),
                        new { status }, new { status, cancelRequested = true }, now);
                    break;
            }

            await transaction.CommitAsync(cancellationToken);
        }

        return await GetAsync(id, cancellationToken);
    }

    /// <summary>
    /// Sends again every job that nobody runs long after its message went out (<paramref name="republishAfter"/>): still
    /// queued, because the message was dead-lettered before any worker claimed it, or running under a lease that ran out
    /// that long ago. A job sent twice is harmless: the consumer skips a job that has finished or that a live worker holds.
    /// Returns how many were sent again.
    /// </summary>
    public async Task<int> RepublishStuckAsync(TimeSpan republishAfter, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // Replicas sweeping at once serialize here, and the second sees the first one's message pending.
        await using var transaction = await database.BeginWriteAsync(connection, "training-jobs/stuck", cancellationToken);
        var now = clock.GetUtcNow();
        var stale = now - republishAfter;
        var stuck = (await connection.QueryAsync<(string Id, string Options)>(
            """
            SELECT j.id, j.options FROM training_jobs j
            WHERE (j.status = 'queued' OR (j.status = 'running' AND j.lease_until < @stale))
              AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.subject = j.id AND (o.published_at IS NULL OR o.published_at >= @stale))
            """,
            new { stale = stale.ToString("O") }, transaction)).ToList();
        foreach (var (id, options) in stuck)
        {
            var maxAttempts = JsonSerializer.Deserialize<TrainingJobOptions>(options, Json)!.MaxAttempts;
            await connection.EnqueueAsync(transaction, new TrainingJobSubmitted(Guid.Parse(id)), now, id, new PublishOptions(maxAttempts));
        }

        await transaction.CommitAsync(cancellationToken);
        return stuck.Count;
    }

    private static async Task FinishAsync(
        DbConnection connection, DbTransaction transaction, Guid id, JobStatus status, string detail, DateTimeOffset now)
    {
        await connection.ExecuteAsync(
            """
            UPDATE training_jobs SET status = @status, finished_at = @now, lease_owner = NULL, lease_until = NULL,
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

    private static string Text<TEnum>(TEnum value) where TEnum : struct, Enum => JsonSerializer.Serialize(value, Json).Trim('"');

    private static TEnum Parse<TEnum>(string text) where TEnum : struct, Enum => JsonSerializer.Deserialize<TEnum>($"\"{text}\"", Json);

    private static DateTimeOffset? Time(string? text) => text is null ? null : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);

    private sealed record JobRow(
        string Id, string Status, string ModelName, string Dataset, long DatasetVersion, string Label, string Task, string Trainer,
        string? PositiveClass, string Options, string? Phase, double? Percent, long CancelRequested, string? Metrics, long? ModelVersion,
        string? Error, string? Report, string CreatedAt, string? StartedAt, string? FinishedAt, string? DatasetColumns,
        string? TrainingSet)
    {
        public TrainingJob ToJob() => new(
            Guid.Parse(Id),
            Parse<JobStatus>(Status),
            ModelName,
            Dataset,
            (int)DatasetVersion,
            Label,
            Parse<MLTask>(Task),
            Trainer,
            PositiveClass,
            JsonSerializer.Deserialize<TrainingJobOptions>(Options, Json)!,
            Phase is null ? null : new JobProgress(Phase, Percent ?? 0),
            CancelRequested != 0,
            Metrics is null ? null : JsonSerializer.Deserialize<Dictionary<string, double>>(Metrics, Json),
            (int?)ModelVersion,
            Error,
            Report is null ? null : JsonSerializer.Deserialize<TrainingReport>(Report, Json),
            Time(CreatedAt)!.Value,
            Time(StartedAt),
            Time(FinishedAt),
            TrainingSet: TrainingSet is null ? null : JsonSerializer.Deserialize<TrainingSetLineage>(TrainingSet, Json));
    }
}

public enum ClaimOutcome
{
    Claimed,
    HeldByAnotherWorker,
    Finished,
    Missing,
}

/// <summary>
/// What a worker's claim on a job came to. When <see cref="ClaimOutcome.Claimed"/>: the job, the attempt it starts, and
/// the dataset's columns as the submit resolved them (null for a job stored before they were kept).
/// </summary>
public sealed record Claim(
    ClaimOutcome Outcome,
    TrainingJob? Job = null,
    int Attempt = 0,
    IReadOnlyList<ColumnSchema>? DatasetColumns = null,
    DateTimeOffset? LeaseUntil = null);

/// <summary>The worker no longer holds the job (its lease ran out and another worker took it).</summary>
public sealed class LeaseLostException(Guid jobId) : Exception($"The lease on job {jobId} was lost to another worker.");

/// <summary>The worker could not renew its lease on a job before it ran out, so it stopped; the job's message is retried.</summary>
public sealed class LeaseNotRenewedException(Guid jobId, Exception cause)
    : Exception($"The lease on job {jobId} could not be renewed before it ran out: {cause.Message}", cause);
