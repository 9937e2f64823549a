using System.Globalization;
using DuckDB.NET.Data;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using ModelPlatform.Feature.Offline;
using ModelPlatform.Storage;

namespace ModelPlatform.Feature.Datasets;

/// <summary>What a dataset version's rows became: a Parquet file in the store, and how many rows it holds.</summary>
public sealed record DatasetFile(string Sha256, long Size, long Rows);

/// <summary>
/// Dataset versions as Parquet files: written column-typed from the rows of an upload, stored in the service's database
/// (<see cref="BlobStore"/>: content-addressed, so every replica reads them), and copied on demand to the local disk for
/// DuckDB to query. A version's file never changes, so a local copy is never stale; it is checked against its SHA-256 as
/// it is copied.
/// </summary>
public sealed class DatasetFiles(BlobStore blobs, ServiceDatabase database, IOptions<FeatureOptions> options)
{
    public string CacheDirectory => Path.Combine(database.ScratchDirectory, "datasets");

    /// <summary>
    /// What DuckDB may hold in memory while a new version's rows pass through its table on their way to a Parquet file, and
    /// while the file's statistics are counted. The table only stages rows for the file's writer, so beyond this DuckDB
    /// moves it to the scratch folder, and memory stays flat whatever the upload's size (with the query engine's 1 GiB,
    /// 5,000,000 rows held 700 MB; docs/performance.md).
    /// </summary>
    public const long UploadMemoryBytes = 128L << 20;

    /// <summary>An in-process DuckDB, bounded by <see cref="FeatureOptions.QueryMemoryBytes"/>.</summary>
    public DuckDBConnection OpenQueryEngine() => DuckDb.Open(database.ScratchDirectory, options.Value.QueryMemoryBytes);

    /// <summary>The in-process DuckDB a new version's rows pass through, bounded by <see cref="UploadMemoryBytes"/>.</summary>
    public DuckDBConnection OpenUploadEngine() =>
        DuckDb.Open(database.ScratchDirectory, Math.Min(UploadMemoryBytes, options.Value.QueryMemoryBytes));

    /// <summary>Writes <paramref name="rows"/> (values as <see cref="CsvDatasetReader"/> types them) as a Parquet file and stores it.</summary>
    public async Task<DatasetFile> WriteAsync(IReadOnlyList<ColumnSchema> columns, IAsyncEnumerable<object?[]> rows, CancellationToken cancellationToken)
    {
        var temporary = NewTemporaryPath();
        try
        {
            var count = await WriteParquetAsync(temporary, columns, rows, cancellationToken);
            return await StoreAsync(temporary, count, cancellationToken);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>A path in the local copies' folder for a file being made; it is moved away, or should be deleted, when done.</summary>
    public string NewTemporaryPath()
    {
        Directory.CreateDirectory(CacheDirectory);
        return Path.Combine(CacheDirectory, $"{Guid.NewGuid():N}.tmp");
    }

    /// <summary>Stores the Parquet file at <paramref name="path"/> (of <paramref name="rows"/> rows) and keeps it as this replica's copy.</summary>
    public async Task<DatasetFile> StoreAsync(string path, long rows, CancellationToken cancellationToken)
    {
        BlobInfo stored;
        await using (var file = File.OpenRead(path))
        {
            stored = await blobs.WriteAsync(file, cancellationToken);
        }

        Keep(path, stored.Sha256);
        return new DatasetFile(stored.Sha256, stored.Size, rows);
    }

    /// <summary>The local path of the stored file <paramref name="sha256"/>, copied from the store when this replica has none.</summary>
    public async Task<string> GetLocalPathAsync(string sha256, CancellationToken cancellationToken)
    {
        var path = CachedPath(sha256);
        if (File.Exists(path))
        {
            return path;
        }

        Directory.CreateDirectory(CacheDirectory);
        var temporary = Path.Combine(CacheDirectory, $"{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var stored = await blobs.OpenReadAsync(sha256, cancellationToken)
                ?? throw new FileNotFoundException($"The dataset file {sha256} is not in the store."))
            await using (var file = File.Create(temporary))
            {
                // The store's stream fails at its end if the bytes do not match their hash: a damaged copy is never kept.
                await stored.CopyToAsync(file, cancellationToken);
            }

            Keep(temporary, sha256);
            return path;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private string CachedPath(string sha256) => Path.Combine(CacheDirectory, $"{sha256}.parquet");

    // Another request may have copied the same file meanwhile; either copy is the same bytes.
    private void Keep(string temporary, string sha256)
    {
        try
        {
            File.Move(temporary, CachedPath(sha256));
        }
        catch (IOException) when (File.Exists(CachedPath(sha256)))
        {
        }
    }

    private async Task<long> WriteParquetAsync(
        string path, IReadOnlyList<ColumnSchema> columns, IAsyncEnumerable<object?[]> rows, CancellationToken cancellationToken)
    {
        using var duckdb = OpenUploadEngine();
        duckdb.Execute($"CREATE TABLE data ({string.Join(", ", columns.Select(column => $"{DuckDbSql.Identifier(column.Name)} {SqlType(column.Type)}"))})");
        var count = 0L;
        using (var appender = duckdb.CreateAppender("data"))
        {
            await foreach (var values in rows.ReadAheadAsync(cancellationToken: cancellationToken))
            {
                var row = appender.CreateRow();
                for (var c = 0; c < values.Length; c++)
                {
                    row = values[c] switch
                    {
                        null => row.AppendNullValue(),
                        double number => row.AppendValue(number),
                        bool flag => row.AppendValue(flag),
                        DateTimeOffset timestamp => row.AppendValue(timestamp),
                        var value => row.AppendValue(Convert.ToString(value, CultureInfo.InvariantCulture)),
                    };
                }

                row.EndRow();
                count++;
            }
        }

        duckdb.Execute($"COPY data TO {DuckDbSql.String(path)} (FORMAT parquet, COMPRESSION zstd)");
        return count;
    }

    public static string SqlType(ColumnType type) => type switch
    {
        ColumnType.Numeric => "DOUBLE",
        ColumnType.Boolean => "BOOLEAN",
        ColumnType.Timestamp => "TIMESTAMPTZ",
        _ => "VARCHAR",
    };
}
