using System.Globalization;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ModelPlatform.Contracts;
using ModelPlatform.Feature.Datasets;
using ModelPlatform.Feature.Offline;
using ModelPlatform.Features.Statistics;
using ModelPlatform.Storage;
using ModelPlatform.TestSupport;

namespace ModelPlatform.Feature.Tests;

/// <summary>Run on each engine: see the classes at the end of the file.</summary>
public abstract class DatasetStoreTests : IDisposable
{
    private readonly ITestDatabase _testDatabase;
    private readonly ServiceDatabase _database;
    private readonly FakeTimeProvider _clock = new();
    private readonly DatasetFiles _files;
    private readonly DatasetStore _store;

    protected DatasetStoreTests(ITestDatabase testDatabase)
    {
        _testDatabase = testDatabase;
        _database = testDatabase.Open(DatasetStore.Migrations);
        var blobs = new BlobStore(_database, _clock);
        _files = new DatasetFiles(blobs, _database, Options.Create(new FeatureOptions()));
        _store = new DatasetStore(_database, _files, blobs, _clock);
    }

    private static readonly CsvShape TenNumbers = new([new ColumnSchema("x", ColumnType.Numeric)], ",", 10);

    /// <summary>Ten rows; after the fifth, says so through <paramref name="reached"/> and waits for <paramref name="resume"/>.</summary>
    private static async IAsyncEnumerable<object?[]> RowsPausingAfterFive(TaskCompletionSource reached, Task resume)
    {
        for (var i = 0; i < 10; i++)
        {
            if (i == 5)
            {
                reached.SetResult();
                await resume;
            }

            yield return [(double)i];
        }
    }

    [Fact]
    public async Task AnUploadInProgressHoldsUpNoOtherUploadAndIsInvisibleUntilComplete()
    {
        // Arrange: a large upload still reading its rows.
        var (reached, resume) = (new TaskCompletionSource(), new TaskCompletionSource());
        var large = _store.AddVersionAsync("large", TenNumbers, RowsPausingAfterFive(reached, resume.Task), "00", AuditActor.Platform, CancellationToken.None);
        await reached.Task;

        // Act: another upload meanwhile.
        var small = await _store.AddVersionAsync("small", await ReadAsync("x\n1\n"), "00", AuditActor.Platform, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(20));

        // Assert: the other upload is in; the large one shows nowhere until its last row is, then shows whole.
        Assert.Equal(1, small.Version);
        Assert.Equal(["small"], (await _store.ListAsync(CancellationToken.None)).Select(dataset => dataset.Name));
        Assert.Null(await _store.GetVersionAsync("large", null, CancellationToken.None));
        Assert.Empty(await _store.GetRowsAsync("large", 1, 0, 100, CancellationToken.None));
        resume.SetResult();
        Assert.Equal(10, (await large).Rows);
        Assert.Equal(10, (await _store.GetRowsAsync("large", 1, 0, 100, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task AFailedUploadLeavesNoVersionAndAFileNoVersionNamesIsSweptOnlyAfterItsGrace()
    {
        // Arrange: an upload whose rows fail half-way, and a file stored by an upload that died before naming it.
        await Assert.ThrowsAsync<InvalidOperationException>(() => _store.AddVersionAsync(
            "failed", TenNumbers, FailingAfter(5), "00", AuditActor.Platform, CancellationToken.None));
        var orphan = await _files.WriteAsync(TenNumbers.Columns, RowsOf(3), CancellationToken.None);
        var named = await _store.AddVersionAsync("named", await ReadAsync("x\n1\n2\n"), "00", AuditActor.Platform, CancellationToken.None);

        // Act and assert: no version of the failed upload; the orphan stays through its grace, then goes; a named file stays.
        Assert.Null(await _store.GetVersionAsync("failed", null, CancellationToken.None));
        Assert.Equal(0, await _store.DeleteUnreferencedFilesAsync(CancellationToken.None));
        _clock.Advance(DatasetStore.UnreferencedFileGrace + TimeSpan.FromSeconds(1));
        Assert.Equal(1, await _store.DeleteUnreferencedFilesAsync(CancellationToken.None));
        await using var connection = await _database.OpenAsync(CancellationToken.None);
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM blobs WHERE sha256 = @Sha256", orphan));
        Assert.Equal(2, (await _store.GetRowsAsync("named", named.Version, 0, 10, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task ANewVersionLeavesOneDatasetVersionCreatedInTheOutboxCommittedWithIt()
    {
        var info = await _store.AddVersionAsync("announced", await ReadAsync("x,y\n1,a\n2,b\n3,c\n"), "00", AuditActor.Platform, CancellationToken.None);

        var (type, announced, createdAt) = Assert.Single(await OutboxAsync());
        Assert.Equal(("DatasetVersionCreated", "announced", 1, 3L), (type, announced.Dataset, announced.Version, announced.Rows));
        Assert.Equal(info.CreatedAt, createdAt);
    }

    [Fact]
    public async Task AnUploadRefusedPartWayAnnouncesNothing()
    {
        // Arrange: a CSV whose third row breaks its quoting once the first pass has taken its shape (the upload changed).
        var limits = CsvDatasetReader.DefaultLimits;
        var shape = await CsvDatasetReader.InspectAsync(new MemoryStream("x\n1\n2\n3\n"u8.ToArray()), limits, CancellationToken.None);
        var badRows = CsvDatasetReader.ReadRowsAsync(new MemoryStream("x\n1\n2\n\"3\n"u8.ToArray()), shape, limits, CancellationToken.None);

        // Act
        await Assert.ThrowsAsync<CsvFormatException>(() =>
            _store.AddVersionAsync("refused", shape, badRows, "00", AuditActor.Platform, CancellationToken.None));

        // Assert: neither a version nor its event.
        Assert.Null(await _store.GetVersionAsync("refused", null, CancellationToken.None));
        Assert.Empty(await OutboxAsync());
    }

    /// <summary>What the outbox holds, oldest first: each event's routing key, the dataset version it announces and when it was stored.</summary>
    private async Task<IReadOnlyList<(string Type, DatasetVersionCreated Event, DateTimeOffset CreatedAt)>> OutboxAsync()
    {
        await using var connection = await _database.OpenAsync(CancellationToken.None);
        var rows = await connection.QueryAsync<(string Type, string Payload, string CreatedAt)>(
            "SELECT event_type, payload, created_at FROM outbox ORDER BY id");
        return rows.Select(row => (row.Type, JsonSerializer.Deserialize<DatasetVersionCreated>(row.Payload, JsonSerializerOptions.Web)!,
            DateTimeOffset.Parse(row.CreatedAt, CultureInfo.InvariantCulture))).ToList();
    }

    [Fact]
    public async Task RowsReadBackTypedInTheirUploadOrderPageByPage()
    {
        var dataset = await ReadAsync(
            "amount,flag,city,seen_at\n1.5,true,Oslo,2025-03-01T12:00:00Z\nNA,false,,2025-03-01 13:30:00+01:00\n-2,TRUE,Bergen,2025-03-02\n");
        Assert.Equal(
            [ColumnType.Numeric, ColumnType.Boolean, ColumnType.Categorical, ColumnType.Timestamp], dataset.Columns.Select(column => column.Type));

        var info = await _store.AddVersionAsync("typed", dataset, "00", AuditActor.Platform, CancellationToken.None);
        var rows = await _store.GetRowsAsync("typed", info.Version, 1, 2, CancellationToken.None);

        Assert.Equal(2, rows.Count);
        Assert.Equal(["amount", "flag", "city", "seen_at"], rows[0].Keys);
        Assert.Equal([null, false, null, new DateTimeOffset(2025, 3, 1, 12, 30, 0, TimeSpan.Zero)], rows[0].Values);
        Assert.Equal([-2.0, true, "Bergen", new DateTimeOffset(2025, 3, 2, 0, 0, 0, TimeSpan.Zero)], rows[1].Values);
    }

    [Fact]
    public async Task AReplicaWithoutALocalCopyReadsTheFileFromTheDatabase()
    {
        var info = await _store.AddVersionAsync("shared", await ReadAsync("x,y\n1,a\n2,b\n"), "00", AuditActor.Platform, CancellationToken.None);
        Directory.Delete(_files.CacheDirectory, recursive: true);

        var rows = await _store.GetRowsAsync("shared", info.Version, 0, 10, CancellationToken.None);

        Assert.Equal([1.0, 2.0], rows.Select(row => row["x"]));
        Assert.True(File.Exists((await _store.GetFileAsync("shared", info.Version, CancellationToken.None))!.Value.Path));
    }

    [Fact]
    public void TheEngineAnUploadPassesThroughHoldsLittleAndSpillsTheRest()
    {
        using var duckdb = _files.OpenUploadEngine();
        using var query = duckdb.CreateCommand();
        query.CommandText = "SELECT current_setting('memory_limit'), current_setting('temp_directory')";
        using var setting = query.ExecuteReader();
        setting.Read();

        // DuckDB names the limit in its own units ("128.0 MiB"); the query engine's is 1 GiB.
        Assert.Equal($"{DatasetFiles.UploadMemoryBytes >> 20}.0 MiB", setting.GetString(0));
        Assert.StartsWith(_database.ScratchDirectory, setting.GetString(1), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachVersionKeepsItsColumnStatisticsAndTwoVersionsCompareColumnByColumn()
    {
        // Arrange: 200 rows, then the same rows with every number moved up by 50 and one label gone.
        static string Csv(int shift, bool bothLabels) =>
            "x,label,when\n" + string.Concat(Enumerable.Range(0, 200).Select(i =>
                $"{i + shift},{(bothLabels && i % 2 == 1 ? "b" : "a")},2025-01-01T00:00:{i % 60:00}Z\n"));
        var baseline = await _store.AddVersionAsync("moving", await ReadAsync(Csv(0, true)), "00", AuditActor.Platform, CancellationToken.None);
        var shifted = await _store.AddVersionAsync("moving", await ReadAsync(Csv(50, false)), "00", AuditActor.Platform, CancellationToken.None);

        // Act
        var statistics = (await _store.GetStatisticsAsync("moving", baseline.Version, CancellationToken.None))!;
        var drift = (await _store.CompareAsync("moving", baseline.Version, shifted.Version, DriftOptions.Default, CancellationToken.None))!;
        var itself = (await _store.CompareAsync("moving", baseline.Version, baseline.Version, DriftOptions.Default, CancellationToken.None))!;

        // Assert: numbers have their moments and quantiles, labels their counts; both columns moved, and nothing moved from itself.
        var x = statistics.Single(column => column.Name == "x");
        Assert.Equal((200L, 0L, 200L, 99.5, 0.0, 199.0), (x.Count, x.Missing, x.Distinct, x.Mean!.Value, x.Min!.Value, x.Max!.Value));
        Assert.Equal(99.5, x.Quantiles!.P50);
        Assert.Equal([("a", 100L), ("b", 100L)], statistics.Single(column => column.Name == "label").TopValues!.Select(v => (v.Value, v.Count)));
        Assert.Equal(
            [("label", DriftMethod.ChiSquare, true), ("when", DriftMethod.KolmogorovSmirnov, false), ("x", DriftMethod.KolmogorovSmirnov, true)],
            drift.Columns.Select(column => (column.Name, column.Method!.Value, column.Drifted)).OrderBy(column => column.Name));
        Assert.True(drift.Drifted);
        Assert.False(itself.Drifted);
        Assert.All(itself.Columns, column => Assert.False(column.Drifted));
    }

    [Fact]
    public async Task LabelStatisticsCountedByTheEngineAreThoseOfTheValuesReadWhole()
    {
        // Arrange: an identifier, labels with ties and gaps, and booleans with gaps.
        var csv = "id,label,flag\n" + string.Concat(Enumerable.Range(0, 300).Select(i =>
            $"u{i},{(i % 7 == 0 ? "" : ((char)('a' + i % 13)).ToString())},{(i % 5 == 0 ? "NA" : i % 2 == 0 ? "true" : "false")}\n"));
        var info = await _store.AddVersionAsync("labels", await ReadAsync(csv), "00", AuditActor.Platform, CancellationToken.None);
        var file = (await _store.GetFileAsync("labels", info.Version, CancellationToken.None))!.Value.Path;

        // Act
        var stored = (await _store.GetStatisticsAsync("labels", info.Version, CancellationToken.None))!;
        using var duckdb = _files.OpenQueryEngine();
        var whole = info.Columns.Select(column => ColumnStatistics.Of(DatasetColumns.Read(duckdb, file, column))).ToList();

        // Assert: the same counts, distinct values and top values, in the same order.
        Assert.Equal(whole.Select(column => JsonSerializer.Serialize(column)), stored.Select(column => JsonSerializer.Serialize(column)));
        Assert.Equal((300L, 43L, 2L, 60L), (stored[0].Distinct, stored[1].Missing, stored[2].Distinct, stored[2].Missing));
    }

    [Fact]
    public async Task VersionsAnEarlierReleaseStoredAsRowsMoveIntoFilesAndReadTheSame()
    {
        // Arrange: one version as rows in column order, and one as the objects of an even earlier release.
        await InsertStoredRowsAsync("old", 1, ["[1.5,\"a\",true,\"2025-01-01T00:00:00+00:00\"]", "[null,\"b\",false,null]"]);
        await InsertStoredRowsAsync("old", 2, ["{\"n\":3,\"s\":\"c\",\"b\":true,\"t\":\"2025-01-02T00:00:00Z\"}"]);

        // Act
        var moved = await _store.ImportStoredRowsAsync(CancellationToken.None);

        // Assert: both are files now, typed as their columns say; no row is left; a second pass has nothing to do.
        Assert.Equal(2, moved);
        var first = await _store.GetRowsAsync("old", 1, 0, 10, CancellationToken.None);
        Assert.Equal([1.5, "a", true, new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero)], first[0].Values);
        Assert.Equal([null, "b", false, null], first[1].Values);
        Assert.Equal(3.0, Assert.Single(await _store.GetRowsAsync("old", 2, 0, 10, CancellationToken.None))["n"]);
        await using var connection = await _database.OpenAsync(CancellationToken.None);
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM dataset_rows"));
        Assert.Equal(0, await _store.ImportStoredRowsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AnUploadAnEarlierReleaseLeftWritingIsDiscardedOnceItsLeaseRunsOut()
    {
        await InsertStoredRowsAsync("stalled", 1, ["[1,\"a\",true,null]"], state: "writing");

        _clock.Advance(DatasetStore.UploadLease - TimeSpan.FromSeconds(1));
        Assert.Equal(0, await _store.DiscardAbandonedUploadsAsync(CancellationToken.None));
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, await _store.DiscardAbandonedUploadsAsync(CancellationToken.None));

        await using var connection = await _database.OpenAsync(CancellationToken.None);
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM dataset_versions WHERE name = 'stalled'"));
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM dataset_rows WHERE name = 'stalled'"));
    }

    private async Task InsertStoredRowsAsync(string name, int version, string[] rows, string state = "ready")
    {
        var columns = """[{"name":"n","type":"numeric"},{"name":"s","type":"categorical"},{"name":"b","type":"boolean"},{"name":"t","type":"timestamp"}]""";
        await using var connection = await _database.OpenAsync(CancellationToken.None);
        await connection.ExecuteAsync(
            """
            INSERT INTO dataset_versions (name, version, row_count, columns, sha256, created_at, state, writing_until, upload_id)
            VALUES (@name, @version, @count, @columns, '00', @now, @state, @until, 'u')
            """,
            new
            {
                name,
                version,
                count = rows.Length,
                columns,
                now = _clock.GetUtcNow().ToString("O"),
                state,
                until = (_clock.GetUtcNow() + DatasetStore.UploadLease).ToString("O"),
            });
        for (var i = 0; i < rows.Length; i++)
        {
            await connection.ExecuteAsync(
                "INSERT INTO dataset_rows (name, version, row_index, data) VALUES (@name, @version, @i, @data)", new { name, version, i, data = rows[i] });
        }
    }

    private static async IAsyncEnumerable<object?[]> RowsOf(int count)
    {
        for (var i = 0; i < count; i++)
        {
            await Task.Yield();
            yield return [(double)i];
        }
    }

    private static async IAsyncEnumerable<object?[]> FailingAfter(int count)
    {
        await foreach (var row in RowsOf(count))
        {
            yield return row;
        }

        throw new InvalidOperationException("the upload broke off");
    }

    [Fact]
    public async Task AParquetFileIsTakenInAsItsDeclaredColumnsAndAJobsPredictionsAreStoredAndAnnouncedOnce()
    {
        IReadOnlyList<ColumnSchema> columns = [new("n", ColumnType.Numeric), new("label", ColumnType.Categorical)];
        var upload = ParquetUpload("SELECT i::INTEGER AS n, 'c' || (i % 3) AS label FROM range(10) t(i)");
        var written = _files.NewTemporaryPath();
        long rows;
        using (var duckdb = _files.OpenUploadEngine())
        {
            rows = ParquetImport.Write(duckdb, upload, columns, new CsvLimits(), written);
        }

        var file = await _files.StoreAsync(written, rows, CancellationToken.None);
        var lineage = new PredictionLineage("customers", 1, "churn", 2, Guid.NewGuid());
        var first = await _store.AddVersionAsync("scored", columns, file, "00", lineage: null, lineage, AuditActor.Platform, CancellationToken.None);
        var retried = await _store.AddVersionAsync("scored", columns, file, "00", lineage: null, lineage, AuditActor.Platform, CancellationToken.None);

        Assert.Equal((1, 1, 10), (first.Version, retried.Version, first.Rows));
        Assert.Single(await _store.GetVersionsAsync("scored", CancellationToken.None));
        var announced = Assert.Single(await OutboxAsync()).Event;
        Assert.Equal(("scored", 1, 10L), (announced.Dataset, announced.Version, announced.Rows));
        Assert.Equal(lineage, (await _store.GetVersionAsync("scored", null, CancellationToken.None))!.Predictions);
        // Integers are stored as every number is: a double.
        var stored = await _store.GetRowsAsync("scored", 1, 0, 10, CancellationToken.None);
        Assert.Equal((9.0, "c0"), (stored[9]["n"], stored[9]["label"]));
    }

    [Theory]
    [InlineData("n:numeric,label:categorical,extra:numeric", "metadata.columns.extra", "is not a column of the Parquet file")]
    [InlineData("n:numeric,label:numeric", "metadata.columns.label", "is VARCHAR in the Parquet file, which does not hold numeric values")]
    [InlineData("n:numeric", "metadata.columns", "does not declare the file's column 'label'")]
    [InlineData("n:boolean,label:categorical", "metadata.columns.n", "is INTEGER in the Parquet file, which does not hold boolean values")]
    public void AParquetFileThatDoesNotMatchItsDeclaredColumnsIsRefusedNamingTheColumn(string declared, string field, string message)
    {
        var columns = declared.Split(',').Select(column => column.Split(':'))
            .Select(parts => new ColumnSchema(parts[0], JsonSerializer.Deserialize<ColumnType>($"\"{parts[1]}\"", JsonSerializerOptions.Web))).ToList();
        var upload = ParquetUpload("SELECT i::INTEGER AS n, 'c' || (i % 3) AS label FROM range(10) t(i)");
        using var duckdb = _files.OpenUploadEngine();

        var refused = Assert.Throws<FeatureRequestException>(() => ParquetImport.Write(duckdb, upload, columns, new CsvLimits(), _files.NewTemporaryPath()));

        Assert.Equal((field, message), (refused.Field, refused.Message));
    }

    [Fact]
    public void AFileThatIsNoParquetIsRefusedAsTheData()
    {
        var upload = _files.NewTemporaryPath();
        File.WriteAllText(upload, "x,y\n1,2\n");
        using var duckdb = _files.OpenUploadEngine();

        var refused = Assert.Throws<FeatureRequestException>(() =>
            ParquetImport.Write(duckdb, upload, [new("x", ColumnType.Numeric)], new CsvLimits(), _files.NewTemporaryPath()));

        Assert.Equal("data", refused.Field);
        Assert.StartsWith("is not a Parquet file that can be read", refused.Message);
    }

    /// <summary>A Parquet file of the query's rows, written by DuckDB as any other tool would.</summary>
    private string ParquetUpload(string query)
    {
        var path = _files.NewTemporaryPath();
        using var duckdb = _files.OpenUploadEngine();
        duckdb.Execute($"COPY ({query}) TO '{path}' (FORMAT parquet)");
        return path;
    }

    private static Task<ParsedDataset> ReadAsync(string csv) =>
        CsvDatasetReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(csv)), CancellationToken.None);

    public void Dispose() => _testDatabase.Dispose();
}

public sealed class DatasetStoreOnSqliteTests() : DatasetStoreTests(new SqliteTestDatabase());

[Collection(nameof(PostgresServer))]
public sealed class DatasetStoreOnPostgresTests(PostgresServer server) : DatasetStoreTests(new PostgresTestDatabase(server));
