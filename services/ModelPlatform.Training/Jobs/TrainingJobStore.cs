using System.Data.Common;
using System.Diagnostics;
using System.Text.Json;
using Dapper;
using ModelPlatform.Contracts;
using ModelPlatform.Messaging;
using ModelPlatform.Storage;
using ModelPlatform.Training.Pipelines;

namespace ModelPlatform.Training.Jobs;

/// <summary>
/// Training jobs in the service's database, shared by every replica of the service: queued through the outbox, run under a
/// lease, every attempt and status change recorded (<see cref="LeasedJobStore{TJob}"/>).
/// </summary>
public sealed class TrainingJobStore(ServiceDatabase database, TimeProvider clock) : LeasedJobStore<TrainingJob>(database, clock)
{
    /// <summary>
    /// The service's database schema, one migration per entry; add new ones at the end. It holds every kind of job: training
    /// jobs, and batch prediction jobs (<see cref="BatchPredictionStore"/>).
    /// </summary>
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
        // How many attempts a job may take, in a column of its own as every kind of job has it (LeasedJobStore).
        new(
            Sqlite: """
                ALTER TABLE training_jobs ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 3;
                UPDATE training_jobs SET max_attempts = json_extract(options, '$.maxAttempts');
                """,
            Postgres: """
                ALTER TABLE training_jobs ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 3;
                UPDATE training_jobs SET max_attempts = (options::json ->> 'maxAttempts')::int;
                """),
        BatchPredictionStore.Migration,
        PipelineStore.Migration,
        // A job's priority, which lane its message goes in (LeasedJobStore.Message); the jobs before it were all interactive.
        Migration.Portable(
            """
                ALTER TABLE training_jobs ADD COLUMN priority TEXT NOT NULL DEFAULT 'interactive';
                ALTER TABLE batch_prediction_jobs ADD COLUMN priority TEXT NOT NULL DEFAULT 'interactive';
            """),
        // A pipeline run's live rollout (its canary or watch), as JSON.
        Migration.Portable("ALTER TABLE pipeline_runs ADD COLUMN rollout TEXT;"),
    ];

    protected override string Table => "training_jobs";

    public override string Resources => "training-jobs";

    protected override string AuditName => "training-job";

    protected override IntegrationEvent Message(Guid id, JobPriority priority) => new TrainingJobSubmitted(id, priority);

    protected override async Task<IReadOnlyList<TrainingJob>> QueryAsync(
        DbConnection connection, string filter, object parameters, DbTransaction? transaction, CancellationToken cancellationToken) =>
        [.. (await connection.QueryAsync<JobRow>(new CommandDefinition($"{SelectJob} {filter}", parameters, transaction, cancellationToken: cancellationToken)))
            .Select(row => row.ToJob())];

    protected override TrainingJob WithHistory(TrainingJob job, IReadOnlyList<JobAttempt> attempts, IReadOnlyList<JobStatusChange> history) =>
        job with { Attempts = attempts, History = history };

    private const string SelectJob = """
        SELECT id AS Id, status AS Status, model_name AS ModelName, dataset AS Dataset, dataset_version AS DatasetVersion,
               label AS Label, task AS Task, trainer AS Trainer, positive_class AS PositiveClass, options AS Options,
               phase AS Phase, percent AS Percent, cancel_requested AS CancelRequested, metrics AS Metrics,
               model_version AS ModelVersion, error AS Error, report AS Report,
               created_at AS CreatedAt, started_at AS StartedAt, finished_at AS FinishedAt, dataset_columns AS DatasetColumns,
               training_set AS TrainingSet, priority AS Priority
        FROM training_jobs
        """;

    /// <summary>
    /// Stores a queued job with the columns of the dataset version it trains on, remembering the caller's trace so the
    /// job's message continues it.
    /// </summary>
    public async Task<TrainingJob> AddAsync(
        TrainingJob job, IReadOnlyList<ColumnSchema> datasetColumns, AuditActor actor, CancellationToken cancellationToken)
    {
        await using var connection = await Database.OpenAsync(cancellationToken);
        await using var transaction = await Database.BeginWriteAsync(connection, Resource(job.Id), cancellationToken);
        await connection.ExecuteAsync(
            """
            INSERT INTO training_jobs (id, status, priority, model_name, dataset, dataset_version, dataset_columns, training_set, label, task,
                trainer, positive_class, options, max_attempts, trace_parent, created_at)
            VALUES (@id, 'queued', @priority, @modelName, @dataset, @datasetVersion, @datasetColumns, @trainingSet, @label, @task,
                @trainer, @positiveClass, @options, @maxAttempts, @traceParent, @createdAt)
            """,
            new
            {
                id = job.Id.ToString(),
                priority = Text(job.Priority),
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
                maxAttempts = job.Options.MaxAttempts,
                traceParent = Activity.Current?.Id,
                createdAt = job.CreatedAt.ToString("O"),
            },
            transaction);
        await AnnounceAsync(connection, transaction, job.Id, job, job.Priority, job.Options.MaxAttempts, actor, job.CreatedAt);
        await transaction.CommitAsync(cancellationToken);
        return job;
    }

    public async Task SucceedAsync(
        Guid id, IReadOnlyDictionary<string, double> metrics, int modelVersion, TrainingReport report, CancellationToken cancellationToken)
    {
        await using var connection = await Database.OpenAsync(cancellationToken);
        await using var transaction = await Database.BeginWriteAsync(connection, Resource(id), cancellationToken);
        await connection.ExecuteAsync(
            "UPDATE training_jobs SET metrics = @metrics, model_version = @modelVersion, report = @report, error = NULL WHERE id = @id",
            new { id = id.ToString(), metrics = JsonSerializer.Serialize(metrics, Json), modelVersion, report = JsonSerializer.Serialize(report, Json) },
            transaction);
        await FinishAsync(connection, transaction, id, JobStatus.Succeeded, $"registered {modelVersion}", Clock.GetUtcNow());
        await transaction.CommitAsync(cancellationToken);
    }

    private sealed record JobRow(
        string Id, string Status, string ModelName, string Dataset, long DatasetVersion, string Label, string Task, string Trainer,
        string? PositiveClass, string Options, string? Phase, double? Percent, long CancelRequested, string? Metrics, long? ModelVersion,
        string? Error, string? Report, string CreatedAt, string? StartedAt, string? FinishedAt, string? DatasetColumns,
        string? TrainingSet, string Priority)
    {
        public TrainingJob ToJob() => new(
            Guid.Parse(Id),
            Parse<JobStatus>(Status),
            Parse<JobPriority>(Priority),
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
            TrainingSet: TrainingSet is null ? null : JsonSerializer.Deserialize<TrainingSetLineage>(TrainingSet, Json),
            DatasetColumns: DatasetColumns is null ? null : JsonSerializer.Deserialize<List<ColumnSchema>>(DatasetColumns, Json));
    }
}
