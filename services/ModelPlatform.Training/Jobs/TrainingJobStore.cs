using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dapper;
using ModelPlatform.Contracts;
using ModelPlatform.Storage;

namespace ModelPlatform.Training.Jobs;

/// <summary>
/// Training jobs in the service's SQLite database. The job row doubles as its outbox record:
/// <c>published_at</c> stays null until the broker has confirmed the job's message, so accepting a job
/// and publishing it can never disagree (see <see cref="OutboxRelay"/>).
/// </summary>
public sealed class TrainingJobStore(ServiceDatabase database, TimeProvider clock)
{
    /// <summary>The database schema, one migration per entry; add new ones at the end.</summary>
    public static readonly string[] Migrations =
    [
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
        """,
    ];

    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    private const string SelectJob = """
        SELECT id AS Id, status AS Status, model_name AS ModelName, dataset AS Dataset, dataset_version AS DatasetVersion,
               label AS Label, task AS Task, trainer AS Trainer, positive_class AS PositiveClass, metrics AS Metrics,
               model_version AS ModelVersion, error AS Error, created_at AS CreatedAt, started_at AS StartedAt, finished_at AS FinishedAt
        FROM training_jobs
        """;

    /// <summary>Stores a queued job, remembering the caller's trace so the job's message continues it.</summary>
    public async Task<TrainingJob> AddAsync(TrainingJob job, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO training_jobs (id, status, model_name, dataset, dataset_version, label, task, trainer, positive_class, trace_parent, created_at)
            VALUES (@id, @status, @modelName, @dataset, @datasetVersion, @label, @task, @trainer, @positiveClass, @traceParent, @createdAt)
            """,
            new
            {
                id = job.Id.ToString(),
                status = Text(job.Status),
                modelName = job.ModelName,
                dataset = job.Dataset,
                datasetVersion = job.DatasetVersion,
                label = job.Label,
                task = Text(job.Task),
                trainer = job.Trainer,
                positiveClass = job.PositiveClass,
                traceParent = Activity.Current?.Id,
                createdAt = job.CreatedAt.ToString("O"),
            },
            cancellationToken: cancellationToken));
        return job;
    }

    public async Task<TrainingJob?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<JobRow>(new CommandDefinition(
            SelectJob + " WHERE id = @id", new { id = id.ToString() }, cancellationToken: cancellationToken));
        return row?.ToJob();
    }

    public async Task<IReadOnlyList<TrainingJob>> ListAsync(JobStatus? status, string? modelName, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<JobRow>(new CommandDefinition(
            SelectJob + " WHERE (@status IS NULL OR status = @status) AND (@modelName IS NULL OR model_name = @modelName) ORDER BY created_at DESC LIMIT @limit",
            new { status = status is null ? null : Text(status.Value), modelName, limit }, cancellationToken: cancellationToken));
        return rows.Select(row => row.ToJob()).ToList();
    }

    public Task MarkRunningAsync(Guid id, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE training_jobs SET status = 'running', started_at = @now, error = NULL WHERE id = @id", new { id = id.ToString(), now = Now() }, cancellationToken);

    public Task MarkSucceededAsync(Guid id, IReadOnlyDictionary<string, double> metrics, int modelVersion, CancellationToken cancellationToken) =>
        UpdateAsync(
            "UPDATE training_jobs SET status = 'succeeded', metrics = @metrics, model_version = @modelVersion, finished_at = @now WHERE id = @id",
            new { id = id.ToString(), metrics = JsonSerializer.Serialize(metrics, Json), modelVersion, now = Now() },
            cancellationToken);

    public Task MarkFailedAsync(Guid id, string error, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE training_jobs SET status = 'failed', error = @error, finished_at = @now WHERE id = @id", new { id = id.ToString(), error, now = Now() }, cancellationToken);

    /// <summary>Jobs whose message the broker has not confirmed yet, oldest first, with the trace they started in.</summary>
    public async Task<IReadOnlyList<(Guid Id, string? TraceParent)>> GetUnpublishedAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Id, string? TraceParent)>(new CommandDefinition(
            "SELECT id, trace_parent FROM training_jobs WHERE published_at IS NULL ORDER BY created_at LIMIT @limit",
            new { limit }, cancellationToken: cancellationToken));
        return rows.Select(row => (Guid.Parse(row.Id), row.TraceParent)).ToList();
    }

    public Task MarkPublishedAsync(Guid id, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE training_jobs SET published_at = @now WHERE id = @id", new { id = id.ToString(), now = Now() }, cancellationToken);

    private async Task UpdateAsync(string sql, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken));
    }

    private string Now() => clock.GetUtcNow().ToString("O");

    private static string Text<TEnum>(TEnum value) where TEnum : struct, Enum => JsonSerializer.Serialize(value, Json).Trim('"');

    private static TEnum Parse<TEnum>(string text) where TEnum : struct, Enum => JsonSerializer.Deserialize<TEnum>($"\"{text}\"", Json);

    private static DateTimeOffset? Time(string? text) => text is null ? null : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);

    private sealed record JobRow(
        string Id, string Status, string ModelName, string Dataset, long DatasetVersion, string Label, string Task, string Trainer,
        string? PositiveClass, string? Metrics, long? ModelVersion, string? Error, string CreatedAt, string? StartedAt, string? FinishedAt)
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
            Metrics is null ? null : JsonSerializer.Deserialize<Dictionary<string, double>>(Metrics, Json),
            (int?)ModelVersion,
            Error,
            Time(CreatedAt)!.Value,
            Time(StartedAt),
            Time(FinishedAt));
    }
}
