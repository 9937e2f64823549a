using System.Data.Common;
using System.Diagnostics;
using System.Text.Json;
using Dapper;
using ModelPlatform.Contracts;
using ModelPlatform.Storage;

namespace ModelPlatform.Training.Jobs;

/// <summary>
/// Batch prediction jobs in the service's database, with every guarantee a training job has: queued through the outbox, run
/// under a lease, every attempt and status change recorded (<see cref="LeasedJobStore{TJob}"/>).
/// </summary>
public sealed class BatchPredictionStore(ServiceDatabase database, TimeProvider clock) : LeasedJobStore<BatchPredictionJob>(database, clock)
{
    /// <summary>The jobs' table, one of the service's migrations (<see cref="TrainingJobStore.Migrations"/>).</summary>
    public static readonly Migration Migration = Migration.Portable(
        """
        CREATE TABLE batch_prediction_jobs (
            id TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            model_name TEXT NOT NULL,
            model_version INTEGER NOT NULL,
            alias TEXT,
            dataset TEXT NOT NULL,
            dataset_version INTEGER NOT NULL,
            output TEXT NOT NULL,
            output_version INTEGER,
            phase_seconds TEXT,
            row_count INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL,
            lease_owner TEXT,
            lease_until TEXT,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            phase TEXT,
            percent REAL,
            error TEXT,
            trace_parent TEXT,
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT);
        CREATE INDEX ix_batch_prediction_jobs_status ON batch_prediction_jobs (status, created_at);
        """);

    private const string SelectJob = """
        SELECT id AS Id, status AS Status, model_name AS Model, model_version AS ModelVersion, alias AS Alias, dataset AS Dataset,
               dataset_version AS DatasetVersion, output AS Output, output_version AS OutputVersion, phase_seconds AS PhaseSeconds, row_count AS Rows,
               max_attempts AS MaxAttempts, phase AS Phase, percent AS Percent, cancel_requested AS CancelRequested, error AS Error,
               created_at AS CreatedAt, started_at AS StartedAt, finished_at AS FinishedAt, priority AS Priority
        FROM batch_prediction_jobs
        """;

    protected override string Table => "batch_prediction_jobs";

    public override string Resources => "batch-predictions";

    protected override string AuditName => "batch-prediction";

    protected override IntegrationEvent Message(Guid id, JobPriority priority) => new BatchPredictionSubmitted(id, priority);

    protected override async Task<IReadOnlyList<BatchPredictionJob>> QueryAsync(
        DbConnection connection, string filter, object parameters, DbTransaction? transaction, CancellationToken cancellationToken) =>
        [.. (await connection.QueryAsync<JobRow>(new CommandDefinition($"{SelectJob} {filter}", parameters, transaction, cancellationToken: cancellationToken)))
            .Select(row => row.ToJob())];

    protected override BatchPredictionJob WithHistory(BatchPredictionJob job, IReadOnlyList<JobAttempt> attempts, IReadOnlyList<JobStatusChange> history) =>
        job with { Attempts = attempts, History = history };

    /// <summary>Stores a queued job and its message, remembering the caller's trace so the job's message continues it.</summary>
    public async Task<BatchPredictionJob> AddAsync(BatchPredictionJob job, AuditActor actor, CancellationToken cancellationToken)
    {
        await using var connection = await Database.OpenAsync(cancellationToken);
        await using var transaction = await Database.BeginWriteAsync(connection, Resource(job.Id), cancellationToken);
        await connection.ExecuteAsync(
            """
            INSERT INTO batch_prediction_jobs (id, status, priority, model_name, model_version, alias, dataset, dataset_version, output, row_count,
                max_attempts, trace_parent, created_at)
            VALUES (@id, 'queued', @priority, @model, @modelVersion, @alias, @dataset, @datasetVersion, @output, @rows, @maxAttempts, @traceParent,
                @createdAt)
            """,
            new
            {
                id = job.Id.ToString(),
                priority = Text(job.Priority),
                model = job.Model,
                modelVersion = job.ModelVersion,
                alias = job.Alias,
                dataset = job.Dataset,
                datasetVersion = job.DatasetVersion,
                output = job.Output,
                rows = job.Rows,
                maxAttempts = job.MaxAttempts,
                traceParent = Activity.Current?.Id,
                createdAt = job.CreatedAt.ToString("O"),
            },
            transaction);
        await AnnounceAsync(connection, transaction, job.Id, job, job.Priority, job.MaxAttempts, actor, job.CreatedAt);
        await transaction.CommitAsync(cancellationToken);
        return job;
    }

    /// <summary>Marks the job succeeded with the dataset version its predictions became, and where its time went.</summary>
    public async Task SucceedAsync(Guid id, int outputVersion, IReadOnlyDictionary<string, double> phaseSeconds, CancellationToken cancellationToken)
    {
        await using var connection = await Database.OpenAsync(cancellationToken);
        await using var transaction = await Database.BeginWriteAsync(connection, Resource(id), cancellationToken);
        await connection.ExecuteAsync(
            "UPDATE batch_prediction_jobs SET output_version = @outputVersion, phase_seconds = @phaseSeconds, error = NULL WHERE id = @id",
            new { id = id.ToString(), outputVersion, phaseSeconds = JsonSerializer.Serialize(phaseSeconds, Json) }, transaction);
        await FinishAsync(connection, transaction, id, JobStatus.Succeeded, $"stored as version {outputVersion}", Clock.GetUtcNow());
        await transaction.CommitAsync(cancellationToken);
    }

    private sealed record JobRow(
        string Id, string Status, string Model, long ModelVersion, string? Alias, string Dataset, long DatasetVersion, string Output,
        long? OutputVersion, string? PhaseSeconds, long Rows, long MaxAttempts, string? Phase, double? Percent, long CancelRequested, string? Error,
        string CreatedAt, string? StartedAt, string? FinishedAt, string Priority)
    {
        public BatchPredictionJob ToJob() => new(
            Guid.Parse(Id), Parse<JobStatus>(Status), Parse<JobPriority>(Priority), Model, (int)ModelVersion, Alias, Dataset, (int)DatasetVersion, Output,
            (int?)OutputVersion, (int)Rows, (int)MaxAttempts, Phase is null ? null : new JobProgress(Phase, Percent ?? 0), CancelRequested != 0, Error,
            Time(CreatedAt)!.Value, Time(StartedAt), Time(FinishedAt),
            PhaseSeconds: PhaseSeconds is null ? null : JsonSerializer.Deserialize<Dictionary<string, double>>(PhaseSeconds, Json));
    }
}
