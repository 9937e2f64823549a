using System.Globalization;
using System.Text.Json;
using Dapper;
using ModelPlatform.Contracts;
using ModelPlatform.Storage;

namespace ModelPlatform.Feature.Datasets;

/// <summary>
/// The offline store: immutable dataset versions in the service's SQLite database. A version and all its
/// rows are written in one transaction, so a failed upload leaves nothing behind.
/// </summary>
public sealed class DatasetStore(ServiceDatabase database, TimeProvider clock)
{
    /// <summary>The database schema, one migration per entry; add new ones at the end.</summary>
    public static readonly string[] Migrations =
    [
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
        """,
        AuditLog.Migration,
    ];

    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    /// <summary>Where uploads are received before they are read (<see cref="StagedFile"/>).</summary>
    public string UploadsDirectory => Path.Combine(database.DataDirectory, "uploads");

    /// <summary>Stores a dataset read whole (tests, small inputs).</summary>
    public Task<DatasetVersionInfo> AddVersionAsync(
        string name, ParsedDataset dataset, string sha256, AuditActor actor, CancellationToken cancellationToken) =>
        AddVersionAsync(name, new CsvShape(dataset.Columns, dataset.Delimiter, dataset.Rows.Count), dataset.Rows.ToAsyncEnumerable(), sha256, actor,
            cancellationToken);

    /// <summary>
    /// Stores the next version of <paramref name="name"/>: its <paramref name="shape"/> and the <paramref name="rows"/> as they
    /// stream in, all in one transaction, so a failed upload leaves nothing behind.
    /// </summary>
    public async Task<DatasetVersionInfo> AddVersionAsync(
        string name, CsvShape shape, IAsyncEnumerable<object?[]> rows, string sha256, AuditActor actor, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // BEGIN IMMEDIATE: concurrent uploads of one dataset serialize here and get distinct version numbers.
        await using var transaction = connection.BeginTransaction(deferred: false);

        var version = await connection.ExecuteScalarAsync<int>(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM dataset_versions WHERE name = @name", new { name }, transaction);
        var info = new DatasetVersionInfo(name, version, shape.Rows, shape.Columns, sha256, clock.GetUtcNow());

        await connection.ExecuteAsync(
            """
            INSERT INTO dataset_versions (name, version, row_count, columns, sha256, created_at)
            VALUES (@Name, @Version, @Rows, @Columns, @Sha256, @CreatedAt)
            """,
            new { info.Name, info.Version, info.Rows, Columns = JsonSerializer.Serialize(info.Columns, Json), info.Sha256, info.CreatedAt },
            transaction);

        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO dataset_rows (name, version, row_index, data) VALUES ($name, $version, $index, $data)";
        insert.Parameters.AddWithValue("$name", name);
        insert.Parameters.AddWithValue("$version", version);
        var index = insert.Parameters.Add("$index", Microsoft.Data.Sqlite.SqliteType.Integer);
        var data = insert.Parameters.Add("$data", Microsoft.Data.Sqlite.SqliteType.Text);
        var written = 0;
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            index.Value = written++;
            // An array in column order: the names are in the version's columns, not repeated on every row.
            data.Value = JsonSerializer.Serialize(row, Json);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        if (written != shape.Rows)
        {
            throw new InvalidOperationException($"The upload changed while it was read: {shape.Rows} rows counted, {written} read.");
        }

        await connection.AppendAsync(transaction, actor, "dataset-version.created", $"datasets/{name}/versions/{version}", null, info, info.CreatedAt);
        await transaction.CommitAsync(cancellationToken);
        return info;
    }

    public async Task<IReadOnlyList<DatasetSummary>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Name, long LatestVersion, long Versions, string UpdatedAt)>(new CommandDefinition(
            "SELECT name, MAX(version), COUNT(*), MAX(created_at) FROM dataset_versions GROUP BY name ORDER BY name",
            cancellationToken: cancellationToken));
        return rows.Select(row => new DatasetSummary(
            row.Name, (int)row.LatestVersion, (int)row.Versions, DateTimeOffset.Parse(row.UpdatedAt, CultureInfo.InvariantCulture))).ToList();
    }

    public async Task<IReadOnlyList<DatasetVersionInfo>> GetVersionsAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<VersionRow>(new CommandDefinition(
            "SELECT name, version, row_count AS RowCount, columns, sha256, created_at AS CreatedAt FROM dataset_versions WHERE name = @name ORDER BY version",
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
            WHERE name = @name AND (@version IS NULL OR version = @version) ORDER BY version DESC LIMIT 1
            """,
            new { name, version }, cancellationToken: cancellationToken));
        return row?.ToInfo();
    }

    public async Task<IReadOnlyList<IReadOnlyDictionary<string, object?>>> GetRowsAsync(
        string name, int version, int offset, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var columns = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT columns FROM dataset_versions WHERE name = @name AND version = @version", new { name, version }, cancellationToken: cancellationToken));
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

public sealed record DatasetSummary(string Name, int LatestVersion, int Versions, DateTimeOffset UpdatedAt);
