using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Dapper;
using ModelPlatform.Contracts;
using ModelPlatform.Feature.Offline;
using ModelPlatform.Features.Statistics;
using ModelPlatform.Messaging;
using ModelPlatform.Storage;

namespace ModelPlatform.Feature.Datasets;

/// <summary>
/// The offline store: immutable dataset versions, each a Parquet file (<see cref="DatasetFiles"/>) named by a row of the
/// service's database (SQLite or PostgreSQL). An upload writes its file first and then, in one short transaction, takes
/// the next version number, names the file, records the audit and enqueues <see cref="DatasetVersionCreated"/> in the
/// outbox: until then no read sees it, and a failed upload leaves only a file no version names, which
/// <see cref="DeleteUnreferencedFilesAsync"/> removes.
/// </summary>
public sealed class DatasetStore(ServiceDatabase database, DatasetFiles files, BlobStore blobs, TimeProvider clock)
{
    /// <summary>How long an upload stored by an earlier release as rows may go without writing before it counts as abandoned.</summary>
    public static readonly TimeSpan UploadLease = TimeSpan.FromMinutes(5);

    /// <summary>How long a stored file may go unnamed: longer than any upload takes between storing its file and its version.</summary>
    public static readonly TimeSpan UnreferencedFileGrace = TimeSpan.FromHours(1);

    /// <summary>
    /// The feature service's database schema, one migration per entry, datasets' and definitions' alike; add new ones at the
    /// end, whichever store they serve.
    /// </summary>
    public static readonly Migration[] Migrations =
    [
        Migration.Portable(
            """
                CREATE TABLE IF NOT EXISTS dataset_versions (
                    name TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    row_count INTEGER NOT NULL,
                    columns TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    PRIMARY KEY (name, version));
                CREATE TABLE IF NOT EXISTS dataset_rows (
                    name TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    row_index INTEGER NOT NULL,
                    data TEXT NOT NULL,
                    PRIMARY KEY (name, version, row_index)) WITHOUT ROWID;
            """),
        AuditLog.Migration,
        // Versions are written in batches and published at the end: 'writing' ones are invisible, and leased.
        Migration.Portable("""
            ALTER TABLE dataset_versions ADD COLUMN state TEXT NOT NULL DEFAULT 'ready';
            ALTER TABLE dataset_versions ADD COLUMN writing_until TEXT;
            ALTER TABLE dataset_versions ADD COLUMN upload_id TEXT;
            """),
        // Times as ISO 8601 text in every column, as PostgreSQL has them from the start.
        AuditLog.IsoTimesMigration("dataset_versions.created_at"),
        // Rows move into Parquet files in the database (LegacyRowsImport moves those stored as rows).
        BlobStore.Migration,
        Migration.Portable("ALTER TABLE dataset_versions ADD COLUMN data_sha256 TEXT;"),
        Definitions.DefinitionStore.Migration,
        // Each version's per-column statistics, computed when its file is written.
        Migration.Portable("ALTER TABLE dataset_versions ADD COLUMN statistics TEXT;"),
        // What a training set was joined from.
        Migration.Portable("ALTER TABLE dataset_versions ADD COLUMN lineage TEXT;"),
        Online.Materialization.Migration,
        // Whether the view's schedule ran a materialization; and its runs by view, for the schedule's checks and the list.
        Migration.Portable("""
            ALTER TABLE materializations ADD COLUMN scheduled INTEGER NOT NULL DEFAULT 0;
            CREATE INDEX materializations_by_view ON materializations (view, window_end);
            """),
        Online.MaterializationLeases.Migration,
        // What a version of predictions was scored from, and the job that scored it: a job's retried upload finds its version.
        Migration.Portable("""
            ALTER TABLE dataset_versions ADD COLUMN predictions TEXT;
            ALTER TABLE dataset_versions ADD COLUMN job_id TEXT;
            CREATE UNIQUE INDEX dataset_versions_by_job ON dataset_versions (job_id) WHERE job_id IS NOT NULL;
            """),
        // Each new version is announced (DatasetVersionCreated) from the transaction that stores it.
        Outbox.Migration,
    ];

    private const string VersionColumns =
        "name, version, row_count AS RowCount, columns, sha256, created_at AS CreatedAt, data_sha256 AS DataSha256, lineage, predictions";

    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    /// <summary>Where uploads are received before they are read (<see cref="StagedFile"/>).</summary>
    public string UploadsDirectory => Path.Combine(database.ScratchDirectory, "uploads");

    /// <summary>Stores a dataset read whole (tests, small inputs).</summary>
    public Task<DatasetVersionInfo> AddVersionAsync(
        string name, ParsedDataset dataset, string sha256, AuditActor actor, CancellationToken cancellationToken) =>
        AddVersionAsync(name, new CsvShape(dataset.Columns, dataset.Delimiter, dataset.Rows.Count), dataset.Rows.ToAsyncEnumerable(), sha256, actor,
            cancellationToken);

    /// <summary>
    /// Stores the next version of <paramref name="name"/>: its <paramref name="shape"/> and the <paramref name="rows"/> as they
    /// stream in. Nothing is visible until the version is complete, and a failed upload leaves nothing any read sees.
    /// </summary>
    /// <param name="sha256">The SHA-256 of the upload as it was sent.</param>
    public async Task<DatasetVersionInfo> AddVersionAsync(
        string name, CsvShape shape, IAsyncEnumerable<object?[]> rows, string sha256, AuditActor actor, CancellationToken cancellationToken)
    {
        var file = await files.WriteAsync(shape.Columns, rows, cancellationToken);
        if (file.Rows != shape.Rows)
        {
            throw new InvalidOperationException($"The upload changed while it was read: {shape.Rows} rows counted, {file.Rows} read.");
        }

        return await AddVersionAsync(name, shape.Columns, file, sha256, lineage: null, predictions: null, actor, cancellationToken);
    }

    /// <summary>
    /// Stores the next version of <paramref name="name"/> from a file already stored (a training set a join wrote, a Parquet
    /// upload). A version of a job's predictions is stored (and announced) once: the job's upload sent again answers the
    /// version it made.
    /// </summary>
    public async Task<DatasetVersionInfo> AddVersionAsync(
        string name, IReadOnlyList<ColumnSchema> columns, DatasetFile file, string sha256, TrainingSetLineage? lineage,
        PredictionLineage? predictions, AuditActor actor, CancellationToken cancellationToken)
    {
        if (predictions is not null && await GetVersionOfJobAsync(predictions.JobId, cancellationToken) is { } stored)
        {
            return stored;
        }

        var statistics = await StatisticsAsync(file.Sha256, columns, cancellationToken);

        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(name), cancellationToken);
        await blobs.ClaimAsync(connection, transaction, file.Sha256, cancellationToken);
        var version = await connection.ExecuteScalarAsync<int>(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM dataset_versions WHERE name = @name", new { name }, transaction);
        var info = new DatasetVersionInfo(name, version, (int)file.Rows, columns, sha256, clock.GetUtcNow(), Lineage: lineage, Predictions: predictions);
        await connection.ExecuteAsync(
            """
            INSERT INTO dataset_versions (name, version, row_count, columns, sha256, created_at, state, data_sha256, statistics, lineage,
                predictions, job_id)
            VALUES (@Name, @Version, @Rows, @Columns, @Sha256, @CreatedAt, 'ready', @DataSha256, @Statistics, @Lineage, @Predictions, @JobId)
            """,
            new
            {
                info.Name,
                info.Version,
                info.Rows,
                Columns = JsonSerializer.Serialize(info.Columns, Json),
                info.Sha256,
                CreatedAt = info.CreatedAt.ToString("O"),
                DataSha256 = file.Sha256,
                Statistics = JsonSerializer.Serialize(statistics, Json),
                Lineage = lineage is null ? null : JsonSerializer.Serialize(lineage, Json),
                Predictions = predictions is null ? null : JsonSerializer.Serialize(predictions, Json),
                JobId = predictions?.JobId.ToString(),
            },
            transaction);
        await connection.AppendAsync(transaction, actor, "dataset-version.created", $"datasets/{name}/versions/{version}", null, info, info.CreatedAt);
        await connection.EnqueueAsync(transaction, new DatasetVersionCreated(name, version, file.Rows), info.CreatedAt);
        await transaction.CommitAsync(cancellationToken);
        return info;
    }

    /// <summary>Deletes files no version names (a failed upload's) once <see cref="UnreferencedFileGrace"/> has passed.</summary>
    public Task<int> DeleteUnreferencedFilesAsync(CancellationToken cancellationToken) =>
        blobs.DeleteUnreferencedAsync("dataset_versions", ["data_sha256"], UnreferencedFileGrace, cancellationToken);

    /// <summary>
    /// Deletes uploads an earlier release was writing as rows when its writer stopped (their lease ran out). Run at start and
    /// then every minute by a <see cref="Sweeper"/>; safe with several replicas.
    /// </summary>
    public async Task<int> DiscardAbandonedUploadsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var abandoned = (await connection.QueryAsync<(string Name, long Version, string UploadId)>(new CommandDefinition(
            "SELECT name, version, upload_id FROM dataset_versions WHERE state = 'writing' AND writing_until < @now",
            new { now = clock.GetUtcNow().ToString("O") }, cancellationToken: cancellationToken))).ToList();
        foreach (var (name, version, uploadId) in abandoned)
        {
            await using var transaction = await database.BeginWriteAsync(connection, Resource(name), cancellationToken);
            var parameters = new { name, version, uploadId };
            if (await connection.ExecuteAsync(
                "DELETE FROM dataset_versions WHERE name = @name AND version = @version AND upload_id = @uploadId AND state = 'writing'",
                parameters, transaction) > 0)
            {
                await connection.ExecuteAsync("DELETE FROM dataset_rows WHERE name = @name AND version = @version", parameters, transaction);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        return abandoned.Count;
    }

    /// <summary>
    /// Moves the versions an earlier release stored as rows into Parquet files, one version at a time, each in one
    /// transaction with the deletion of its rows: a version is readable throughout, from its rows or from its file.
    /// </summary>
    public async Task<int> ImportStoredRowsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var versions = (await connection.QueryAsync<VersionRow>(new CommandDefinition(
            $"""
            SELECT {VersionColumns} FROM dataset_versions
            WHERE state = 'ready' AND data_sha256 IS NULL ORDER BY name, version
            """,
            cancellationToken: cancellationToken))).Select(row => row.ToInfo()).ToList();
        foreach (var info in versions)
        {
            var file = await files.WriteAsync(info.Columns, StoredRowsAsync(info, cancellationToken), cancellationToken);
            var statistics = JsonSerializer.Serialize(await StatisticsAsync(file.Sha256, info.Columns, cancellationToken), Json);
            await using var transaction = await database.BeginWriteAsync(connection, Resource(info.Name), cancellationToken);
            await blobs.ClaimAsync(connection, transaction, file.Sha256, cancellationToken);
            var parameters = new { info.Name, info.Version, file.Sha256, statistics };
            await connection.ExecuteAsync(
                "UPDATE dataset_versions SET data_sha256 = @Sha256, statistics = @statistics WHERE name = @Name AND version = @Version AND data_sha256 IS NULL",
                parameters, transaction);
            await connection.ExecuteAsync("DELETE FROM dataset_rows WHERE name = @Name AND version = @Version", parameters, transaction);
            await transaction.CommitAsync(cancellationToken);
        }

        return versions.Count;
    }

    /// <summary>
    /// Per-column statistics of the stored file <paramref name="sha256"/>, a column per core at a time (each reads one
    /// column, so memory stays bounded by a few columns whatever the file's width).
    /// </summary>
    private async Task<IReadOnlyList<ColumnStatistics>> StatisticsAsync(
        string sha256, IReadOnlyList<ColumnSchema> columns, CancellationToken cancellationToken)
    {
        var path = await files.GetLocalPathAsync(sha256, cancellationToken);
        var statistics = new ColumnStatistics[columns.Count];
        Parallel.For(
            0, columns.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken },
            files.OpenUploadEngine,
            (index, _, duckdb) =>
            {
                statistics[index] = DatasetColumns.Statistics(duckdb, path, columns[index]);
                return duckdb;
            },
            duckdb => duckdb.Dispose());
        return statistics;
    }

    /// <summary>A version's per-column statistics, as computed when it was stored; null when there is no such version.</summary>
    public async Task<IReadOnlyList<ColumnStatistics>?> GetStatisticsAsync(string name, int version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var statistics = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT statistics FROM dataset_versions WHERE name = @name AND version = @version AND state = 'ready'",
            new { name, version }, cancellationToken: cancellationToken));
        return statistics is null ? null : JsonSerializer.Deserialize<List<ColumnStatistics>>(statistics, Json);
    }

    /// <summary>
    /// How <paramref name="current"/> moved from <paramref name="baseline"/>, column by column, with the tests Evidently uses
    /// by default; null when either version does not exist.
    /// </summary>
    public async Task<DatasetDrift?> CompareAsync(string name, int baseline, int current, DriftOptions options, CancellationToken cancellationToken)
    {
        var (reference, compared) = (await GetVersionAsync(name, baseline, cancellationToken), await GetVersionAsync(name, current, cancellationToken));
        if (reference is null || compared is null
            || await GetFileAsync(name, baseline, cancellationToken) is not { } referenceFile
            || await GetFileAsync(name, current, cancellationToken) is not { } currentFile)
        {
            return null;
        }

        using var duckdb = files.OpenQueryEngine();
        return DriftDetector.CompareDataset(
            DatasetColumns.Read(duckdb, referenceFile.Path, reference.Columns), DatasetColumns.Read(duckdb, currentFile.Path, compared.Columns), options);
    }

    /// <summary>
    /// How a sample of values gathered elsewhere (what a model was sent) moved from <paramref name="version"/>'s own values of
    /// the same columns, by the same tests as <see cref="CompareAsync"/>; null when the version does not exist.
    /// </summary>
    public async Task<DatasetDrift?> CompareSampleAsync(
        DatasetVersionInfo version, IReadOnlyList<ColumnData> sample, DriftOptions options, CancellationToken cancellationToken)
    {
        if (await GetFileAsync(version.Name, version.Version, cancellationToken) is not { } file)
        {
            return null;
        }

        var sampled = sample.Select(column => column.Name).ToHashSet(StringComparer.Ordinal);
        using var duckdb = files.OpenQueryEngine();
        return DriftDetector.CompareDataset(
            DatasetColumns.Read(duckdb, file.Path, [.. version.Columns.Where(column => sampled.Contains(column.Name))]), sample, options);
    }

    /// <summary>A version's stored rows, typed by its columns, read a page at a time.</summary>
    private async IAsyncEnumerable<object?[]> StoredRowsAsync(DatasetVersionInfo info, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        const int PageSize = 10_000;
        var names = info.Columns.Select(column => column.Name).ToList();
        for (var offset = 0; ; offset += PageSize)
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            var page = (await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT data FROM dataset_rows WHERE name = @Name AND version = @Version AND row_index >= @offset ORDER BY row_index LIMIT @PageSize",
                new { info.Name, info.Version, offset, PageSize }, cancellationToken: cancellationToken))).ToList();
            foreach (var data in page)
            {
                var row = ReadRow(data, names);
                yield return [.. info.Columns.Select(column => Typed(row.GetValueOrDefault(column.Name), column.Type))];
            }

            if (page.Count < PageSize)
            {
                yield break;
            }
        }
    }

    private static object? Typed(JsonElement value, ColumnType type) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.True or JsonValueKind.False => value.GetBoolean(),
        JsonValueKind.String when type == ColumnType.Timestamp && CellValues.TryParseTimestamp(value.GetString()!, out var timestamp) => timestamp,
        JsonValueKind.String => value.GetString(),
        _ => null,
    };

    /// <summary>What a change to the dataset is audited and locked under.</summary>
    private static string Resource(string name) => $"datasets/{name}";

    public async Task<IReadOnlyList<DatasetSummary>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Name, long LatestVersion, long Versions, string UpdatedAt)>(new CommandDefinition(
            "SELECT name, MAX(version), COUNT(*), MAX(created_at) FROM dataset_versions WHERE state = 'ready' GROUP BY name ORDER BY name",
            cancellationToken: cancellationToken));
        return rows.Select(row => new DatasetSummary(
            row.Name, (int)row.LatestVersion, (int)row.Versions, DateTimeOffset.Parse(row.UpdatedAt, CultureInfo.InvariantCulture))).ToList();
    }

    public async Task<IReadOnlyList<DatasetVersionInfo>> GetVersionsAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<VersionRow>(new CommandDefinition(
            $"""
            SELECT {VersionColumns} FROM dataset_versions
            WHERE name = @name AND state = 'ready' ORDER BY version
            """,
            new { name }, cancellationToken: cancellationToken));
        return rows.Select(row => row.ToInfo()).ToList();
    }

    /// <summary>A version by number, or the latest when <paramref name="version"/> is null.</summary>
    public async Task<DatasetVersionInfo?> GetVersionAsync(string name, int? version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<VersionRow>(new CommandDefinition(
            $"""
            SELECT {VersionColumns} FROM dataset_versions
            WHERE name = @name AND state = 'ready' AND (@version IS NULL OR version = @version) ORDER BY version DESC LIMIT 1
            """,
            new { name, version }, cancellationToken: cancellationToken));
        return row?.ToInfo();
    }

    /// <summary>The version that holds a batch prediction job's predictions, if it has stored them.</summary>
    public async Task<DatasetVersionInfo?> GetVersionOfJobAsync(Guid jobId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<VersionRow>(new CommandDefinition(
            $"SELECT {VersionColumns} FROM dataset_versions WHERE job_id = @jobId AND state = 'ready'",
            new { jobId = jobId.ToString() }, cancellationToken: cancellationToken));
        return row?.ToInfo();
    }

    /// <summary>A version's Parquet file on this replica's disk, with its SHA-256; null when there is no such version.</summary>
    public async Task<(string Path, string Sha256)?> GetFileAsync(string name, int version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var sha256 = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT data_sha256 FROM dataset_versions WHERE name = @name AND version = @version AND state = 'ready'",
            new { name, version }, cancellationToken: cancellationToken));
        return sha256 is null ? null : (await files.GetLocalPathAsync(sha256, cancellationToken), sha256);
    }

    /// <summary>
    /// Every version of <paramref name="name"/>, oldest first, each with its Parquet file on this replica's disk: what a
    /// feature view reads as one table.
    /// </summary>
    public async Task<IReadOnlyList<(DatasetVersionInfo Version, string Path)>> GetAllFilesAsync(string name, CancellationToken cancellationToken)
    {
        var files = new List<(DatasetVersionInfo, string)>();
        foreach (var version in await GetVersionsAsync(name, cancellationToken))
        {
            files.Add((version, (await GetFileAsync(name, version.Version, cancellationToken))!.Value.Path));
        }

        return files;
    }

    /// <summary>A page of a version's rows, in their upload's order, each keyed by column name.</summary>
    public async Task<IReadOnlyList<IReadOnlyDictionary<string, object?>>> GetRowsAsync(
        string name, int version, int offset, int limit, CancellationToken cancellationToken)
    {
        if (await GetFileAsync(name, version, cancellationToken) is not { } file)
        {
            return [];
        }

        using var duckdb = files.OpenQueryEngine();
        using var query = duckdb.CreateCommand();
        query.CommandText = $"SELECT * FROM read_parquet({DuckDbSql.String(file.Path)}) LIMIT {limit} OFFSET {offset}";
        using var reader = await query.ExecuteReaderAsync(cancellationToken);
        var rows = new List<IReadOnlyDictionary<string, object?>>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new Dictionary<string, object?>(reader.FieldCount, StringComparer.Ordinal);
            for (var c = 0; c < reader.FieldCount; c++)
            {
                row[reader.GetName(c)] = reader.IsDBNull(c) ? null : reader.GetValue(c) switch
                {
                    DateTime time => new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)),
                    var value => value,
                };
            }

            rows.Add(row);
        }

        return rows;
    }

    /// <summary>A stored row: an array in column order, or (versions stored before rows were compact) an object by column name.</summary>
    private static Dictionary<string, JsonElement> ReadRow(string data, IReadOnlyList<string> names)
    {
        if (data.StartsWith('{'))
        {
            return JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(data, Json)!;
        }

        var values = JsonSerializer.Deserialize<JsonElement[]>(data, Json)!;
        return names.Select((name, c) => (name, value: values[c])).ToDictionary(pair => pair.name, pair => pair.value, StringComparer.Ordinal);
    }

    private sealed record VersionRow(
        string Name, long Version, long RowCount, string Columns, string Sha256, string CreatedAt, string? DataSha256, string? Lineage,
        string? Predictions)
    {
        public DatasetVersionInfo ToInfo() => new(
            Name, (int)Version, (int)RowCount, JsonSerializer.Deserialize<List<ColumnSchema>>(Columns, Json)!, Sha256,
            DateTimeOffset.Parse(CreatedAt, CultureInfo.InvariantCulture),
            Lineage: Lineage is null ? null : JsonSerializer.Deserialize<TrainingSetLineage>(Lineage, Json),
            Predictions: Predictions is null ? null : JsonSerializer.Deserialize<PredictionLineage>(Predictions, Json));
    }
}
