using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Dapper;
using ModelPlatform.Contracts;
using ModelPlatform.Storage;

namespace ModelPlatform.Feature.Datasets;

/// <summary>
/// The offline store: immutable dataset versions in the service's database (SQLite or PostgreSQL). An upload reserves its version number,
/// writes its rows in short transactions (so a large upload never holds up another) and publishes the version when the
/// last row is in. Until then, and for ever if it fails, no read sees it: a failed upload is deleted, and one whose writer
/// died is deleted once its lease runs out (<see cref="DiscardAbandonedUploadsAsync"/>).
/// </summary>
public sealed class DatasetStore(ServiceDatabase database, TimeProvider clock)
{
    /// <summary>How long an upload may go without writing a batch before it counts as abandoned.</summary>
    public static readonly TimeSpan UploadLease = TimeSpan.FromMinutes(5);

    private const string Writing = "writing";
    private const string Ready = "ready";

    /// <summary>The database schema, one migration per entry; add new ones at the end.</summary>
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
    ];

    /// <summary>Rows (and characters of stored JSON) written per transaction.</summary>
    public int RowsPerBatch { get; init; } = 5000;

    private const int CharactersPerBatch = 4 << 20;

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
    /// stream in. Nothing is visible until the version is complete, and a failed upload leaves nothing behind.
    /// </summary>
    public async Task<DatasetVersionInfo> AddVersionAsync(
        string name, CsvShape shape, IAsyncEnumerable<object?[]> rows, string sha256, AuditActor actor, CancellationToken cancellationToken)
    {
        var upload = await ReserveVersionAsync(name, shape, sha256, cancellationToken);
        var info = upload.Info;
        try
        {
            var written = await WriteRowsAsync(upload, rows, cancellationToken);
            if (written != shape.Rows)
            {
                throw new InvalidOperationException($"The upload changed while it was read: {shape.Rows} rows counted, {written} read.");
            }

            await using var connection = await database.OpenAsync(cancellationToken);
            await using var transaction = await database.BeginWriteAsync(connection, Resource(name), cancellationToken);
            await RenewLeaseAsync(connection, transaction, upload, state: Ready);
            await connection.AppendAsync(transaction, actor, "dataset-version.created", $"datasets/{name}/versions/{info.Version}", null, info, info.CreatedAt);
            await transaction.CommitAsync(cancellationToken);
            return info;
        }
        catch (Exception failure)
        {
            try
            {
                await DiscardAsync(upload);
            }
            catch (Exception cleanup)
            {
                // The sweeper deletes the upload once its lease runs out; the caller hears of both failures.
                throw new AggregateException(failure, cleanup);
            }

            throw;
        }
    }

    /// <summary>Takes the next version number; concurrent uploads of one dataset serialize here.</summary>
    private async Task<Upload> ReserveVersionAsync(string name, CsvShape shape, string sha256, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(name), cancellationToken);
        var version = await connection.ExecuteScalarAsync<int>(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM dataset_versions WHERE name = @name", new { name }, transaction);
        var info = new DatasetVersionInfo(name, version, shape.Rows, shape.Columns, sha256, clock.GetUtcNow());
        var upload = new Upload(info, Guid.NewGuid().ToString("N"));
        await connection.ExecuteAsync(
            """
            INSERT INTO dataset_versions (name, version, row_count, columns, sha256, created_at, state, writing_until, upload_id)
            VALUES (@Name, @Version, @Rows, @Columns, @Sha256, @CreatedAt, @Writing, @WritingUntil, @UploadId)
            """,
            new
            {
                info.Name,
                info.Version,
                info.Rows,
                Columns = JsonSerializer.Serialize(info.Columns, Json),
                info.Sha256,
                CreatedAt = info.CreatedAt.ToString("O"),
                Writing,
                WritingUntil = (info.CreatedAt + UploadLease).ToString("O"),
                upload.UploadId,
            },
            transaction);
        await transaction.CommitAsync(cancellationToken);
        return upload;
    }

    /// <summary>
    /// Writes the rows in batches, each its own short transaction that also renews the upload's lease. Rows are read
    /// between transactions, so a slow reader holds no lock.
    /// </summary>
    private async Task<int> WriteRowsAsync(Upload upload, IAsyncEnumerable<object?[]> rows, CancellationToken cancellationToken)
    {
        var batch = new List<string>();
        var characters = 0L;
        var written = 0;
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            // An array in column order: the names are in the version's columns, not repeated on every row.
            var data = JsonSerializer.Serialize(row, Json);
            batch.Add(data);
            characters += data.Length;
            if (batch.Count >= RowsPerBatch || characters >= CharactersPerBatch)
            {
                written = await WriteBatchAsync(upload, written, batch, cancellationToken);
                batch.Clear();
                characters = 0;
            }
        }

        return batch.Count > 0 ? await WriteBatchAsync(upload, written, batch, cancellationToken) : written;
    }

    private async Task<int> WriteBatchAsync(Upload upload, int firstIndex, List<string> batch, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(upload.Info.Name), cancellationToken);
        await RenewLeaseAsync(connection, transaction, upload, state: Writing);
        foreach (var rows in batch.Chunk(RowsPerInsert))
        {
            await InsertRowsAsync(connection, transaction, upload.Info, firstIndex, rows, cancellationToken);
            firstIndex += rows.Length;
        }

        await transaction.CommitAsync(cancellationToken);
        return firstIndex;
    }

    /// <summary>Rows per INSERT statement: one round trip for many rows, within every engine's limit on parameters.</summary>
    private const int RowsPerInsert = 200;

    private static async Task InsertRowsAsync(
        DbConnection connection, DbTransaction transaction, DatasetVersionInfo info, int firstIndex, string[] rows, CancellationToken cancellationToken)
    {
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO dataset_rows (name, version, row_index, data) VALUES "
            + string.Join(", ", rows.Select((_, i) => $"(@name, @version, @i{i}, @d{i})"));
        AddParameter(insert, "name", info.Name);
        AddParameter(insert, "version", (long)info.Version);
        for (var i = 0; i < rows.Length; i++)
        {
            AddParameter(insert, $"i{i}", (long)(firstIndex + i));
            AddParameter(insert, $"d{i}", rows[i]);
        }

        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    /// <summary>Extends the upload's lease, or publishes it; fails if the upload was discarded as abandoned meanwhile.</summary>
    private async Task RenewLeaseAsync(DbConnection connection, DbTransaction transaction, Upload upload, string state)
    {
        var info = upload.Info;
        var renewed = await connection.ExecuteAsync(
            """
            UPDATE dataset_versions SET state = @state, writing_until = @writingUntil
            WHERE name = @Name AND version = @Version AND upload_id = @UploadId AND state = 'writing'
            """,
            new { state, writingUntil = state == Writing ? (clock.GetUtcNow() + UploadLease).ToString("O") : null, info.Name, info.Version, upload.UploadId },
            transaction);
        if (renewed == 0)
        {
            throw new InvalidOperationException(
                $"The upload of {info.Name} v{info.Version} was discarded: it wrote nothing for {UploadLease.TotalMinutes:F0} minutes.");
        }
    }

    /// <summary>
    /// Deletes uploads whose writer stopped (a crash, a killed process) without finishing: their lease ran out. Run at start
    /// and then every minute by a <see cref="Sweeper"/>; safe with several replicas.
    /// </summary>
    public async Task<int> DiscardAbandonedUploadsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var abandoned = (await connection.QueryAsync<(string Name, long Version, string UploadId)>(new CommandDefinition(
            "SELECT name, version, upload_id FROM dataset_versions WHERE state = 'writing' AND writing_until < @now",
            new { now = clock.GetUtcNow().ToString("O") }, cancellationToken: cancellationToken))).ToList();
        foreach (var (name, version, uploadId) in abandoned)
        {
            await DiscardAsync(name, (int)version, uploadId);
        }

        return abandoned.Count;
    }

    private Task DiscardAsync(Upload upload) => DiscardAsync(upload.Info.Name, upload.Info.Version, upload.UploadId);

    // Not cancellable: it cleans up after a failure, including a cancelled upload. The upload's id, not only its number,
    // says what to delete: once an abandoned upload is gone, a new one may take its number.
    private async Task DiscardAsync(string name, int version, string uploadId)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(name), CancellationToken.None);
        var parameters = new { name, version, uploadId };
        if (await connection.ExecuteAsync(
            "DELETE FROM dataset_versions WHERE name = @name AND version = @version AND upload_id = @uploadId AND state = 'writing'",
            parameters, transaction) > 0)
        {
            await connection.ExecuteAsync("DELETE FROM dataset_rows WHERE name = @name AND version = @version", parameters, transaction);
        }

        await transaction.CommitAsync(CancellationToken.None);
    }

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
            """
            SELECT name, version, row_count AS RowCount, columns, sha256, created_at AS CreatedAt FROM dataset_versions
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
            """
            SELECT name, version, row_count AS RowCount, columns, sha256, created_at AS CreatedAt FROM dataset_versions
            WHERE name = @name AND state = 'ready' AND (@version IS NULL OR version = @version) ORDER BY version DESC LIMIT 1
            """,
            new { name, version }, cancellationToken: cancellationToken));
        return row?.ToInfo();
    }

    public async Task<IReadOnlyList<IReadOnlyDictionary<string, object?>>> GetRowsAsync(
        string name, int version, int offset, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var columns = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT columns FROM dataset_versions WHERE name = @name AND version = @version AND state = 'ready'",
            new { name, version }, cancellationToken: cancellationToken));
        if (columns is null)
        {
            return [];
        }

        var names = JsonSerializer.Deserialize<List<ColumnSchema>>(columns, Json)!.Select(column => column.Name).ToList();
        var rows = await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT data FROM dataset_rows WHERE name = @name AND version = @version AND row_index >= @offset ORDER BY row_index LIMIT @limit",
            new { name, version, offset, limit }, cancellationToken: cancellationToken));
        return rows.Select(data => ReadRow(data, names)).ToList();
    }

    /// <summary>A stored row: an array in column order, or (versions stored before rows were compact) an object by column name.</summary>
    private static IReadOnlyDictionary<string, object?> ReadRow(string data, IReadOnlyList<string> names)
    {
        if (data.StartsWith('{'))
        {
            return JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(data, Json)!.ToDictionary(pair => pair.Key, pair => (object?)pair.Value);
        }

        var values = JsonSerializer.Deserialize<JsonElement[]>(data, Json)!;
        var row = new Dictionary<string, object?>(names.Count, StringComparer.Ordinal);
        for (var c = 0; c < names.Count; c++)
        {
            row[names[c]] = values[c];
        }

        return row;
    }

    private sealed record VersionRow(string Name, long Version, long RowCount, string Columns, string Sha256, string CreatedAt)
    {
        public DatasetVersionInfo ToInfo() => new(
            Name, (int)Version, (int)RowCount, JsonSerializer.Deserialize<List<ColumnSchema>>(Columns, Json)!, Sha256,
            DateTimeOffset.Parse(CreatedAt, CultureInfo.InvariantCulture));
    }
}

/// <summary>A version being written, and the id that tells this upload from a later one that reuses its number.</summary>
internal sealed record Upload(DatasetVersionInfo Info, string UploadId);

public sealed record DatasetSummary(string Name, int LatestVersion, int Versions, DateTimeOffset UpdatedAt);
