using System.Text;
using Dapper;
using Microsoft.Extensions.Time.Testing;
using ModelPlatform.Contracts;
using ModelPlatform.Feature.Datasets;
using ModelPlatform.Storage;
using ModelPlatform.TestSupport;

namespace ModelPlatform.Feature.Tests;

/// <summary>Run on each engine: see the classes at the end of the file.</summary>
public abstract class DatasetStoreTests : IDisposable
{
    private readonly ITestDatabase _testDatabase;
    private readonly ServiceDatabase _database;
    private readonly FakeTimeProvider _clock = new();
    private readonly DatasetStore _store;

    protected DatasetStoreTests(ITestDatabase testDatabase)
    {
        _testDatabase = testDatabase;
        _database = testDatabase.Open(DatasetStore.Migrations);
        // Small batches, so a few rows already span several transactions.
        _store = new DatasetStore(_database, _clock) { RowsPerBatch = 2 };
    }

    private static readonly CsvShape TenNumbers = new([new ColumnSchema("x", ColumnType.Numeric)], ",", 10);

    /// <summary>Ten rows, pausing after the fifth until <paramref name="resume"/> completes, failing there if it faults.</summary>
    private static async IAsyncEnumerable<object?[]> RowsPausingAfterFive(Task resume)
    {
        for (var i = 0; i < 10; i++)
        {
            if (i == 5)
            {
                await resume;
            }

            yield return [(double)i];
        }
    }

    [Fact]
    public async Task AnUploadInProgressHoldsUpNoOtherUploadAndIsInvisibleUntilComplete()
    {
        // Arrange: a large upload that has written some batches and is still reading its rows.
        var resume = new TaskCompletionSource();
        var large = _store.AddVersionAsync("large", TenNumbers, RowsPausingAfterFive(resume.Task), "00", AuditActor.Platform, CancellationToken.None);
        await WaitUntilRowsAsync("large", 4);

        // Act: another upload meanwhile. Before rows went in batches, the first upload's transaction held the only write
        // lock while it read, and this one waited for it.
        var small = await _store.AddVersionAsync("small", await ReadAsync("x\n1\n"), "00", AuditActor.Platform, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(20));

        // Assert: the other upload is in; the large one shows nowhere until its last row is, then shows whole.
        Assert.Equal(1, small.Version);
        Assert.Equal(["small"], (await _store.ListAsync(CancellationToken.None)).Select(dataset => dataset.Name));
        Assert.Null(await _store.GetVersionAsync("large", null, CancellationToken.None));
        Assert.Empty(await _store.GetRowsAsync("large", 1, 0, 100, CancellationToken.None));

        resume.SetResult();
        var done = await large;
        Assert.Equal(10, (await _store.GetRowsAsync("large", done.Version, 0, 100, CancellationToken.None)).Count);
        Assert.Equal(10, (await _store.GetVersionAsync("large", null, CancellationToken.None))?.Rows);
    }

    [Fact]
    public async Task AnUploadThatFailsAfterSomeBatchesLeavesNothingBehindAndFreesItsVersionNumber()
    {
        var resume = new TaskCompletionSource();
        var failing = _store.AddVersionAsync("broken", TenNumbers, RowsPausingAfterFive(resume.Task), "00", AuditActor.Platform, CancellationToken.None);
        await WaitUntilRowsAsync("broken", 4);

        resume.SetException(new CsvFormatException("line 7: not a number", 7));

        await Assert.ThrowsAsync<CsvFormatException>(() => failing);
        Assert.Equal((0, 0), await StoredAsync("broken"));
        var next = await _store.AddVersionAsync("broken", await ReadAsync("x\n1\n"), "00", AuditActor.Platform, CancellationToken.None);
        Assert.Equal(1, next.Version);
    }

    [Fact]
    public async Task AnUploadWhoseWriterStoppedIsDiscardedOnceItsLeaseRunsOutAndCannotFinishLater()
    {
        // Arrange: an upload whose writer stops mid-way, as a killed process would.
        var resume = new TaskCompletionSource();
        var stalled = _store.AddVersionAsync("stalled", TenNumbers, RowsPausingAfterFive(resume.Task), "00", AuditActor.Platform, CancellationToken.None);
        await WaitUntilRowsAsync("stalled", 4);

        // Act and assert: nothing is discarded while the lease holds, everything once it has run out.
        _clock.Advance(DatasetStore.UploadLease - TimeSpan.FromSeconds(1));
        Assert.Equal(0, await _store.DiscardAbandonedUploadsAsync(CancellationToken.None));
        Assert.Equal((1, 4), await StoredAsync("stalled"));

        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, await _store.DiscardAbandonedUploadsAsync(CancellationToken.None));
        Assert.Equal((0, 0), await StoredAsync("stalled"));

        // A new upload takes the free number. The old writer, back after its upload was discarded, fails rather than
        // write rows nobody owns, and leaves the new version alone.
        var replacement = await _store.AddVersionAsync("stalled", await ReadAsync("x\n1\n"), "00", AuditActor.Platform, CancellationToken.None);
        resume.SetResult();
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => stalled);
        Assert.Contains("discarded", refused.Message);
        Assert.Equal((1, 1), await StoredAsync("stalled"));
        Assert.Equal(replacement.Rows, (await _store.GetVersionAsync("stalled", 1, CancellationToken.None))?.Rows);
    }

    private static Task<ParsedDataset> ReadAsync(string csv) =>
        CsvDatasetReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(csv)), CancellationToken.None);

    /// <summary>Versions (of any state) and rows stored for <paramref name="name"/>, as the database holds them.</summary>
    private async Task<(int Versions, int Rows)> StoredAsync(string name)
    {
        await using var connection = await _database.OpenAsync(CancellationToken.None);
        return (await connection.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM dataset_versions WHERE name = @name", new { name }),
            await connection.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM dataset_rows WHERE name = @name", new { name }));
    }

    private async Task WaitUntilRowsAsync(string name, int rows)
    {
        while ((await StoredAsync(name)).Rows < rows)
        {
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task RowsAreStoredWithoutRepeatingColumnNamesAndReadBackByName()
    {
        // Arrange: long column names, which a row stored as an object would repeat on every row.
        var names = Enumerable.Range(1, 20).Select(i => $"a_rather_long_descriptive_column_name_{i}").ToList();
        var csv = string.Join(',', names) + "\n" + string.Join('\n', Enumerable.Range(0, 50).Select(r => string.Join(',', names.Select((_, c) => r * c))));
        var dataset = await CsvDatasetReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(csv)), CancellationToken.None);

        // Act
        await _store.AddVersionAsync("wide", dataset, "00", AuditActor.Platform, CancellationToken.None);
        var rows = await _store.GetRowsAsync("wide", 1, 10, 2, CancellationToken.None);

        // Assert: the stored rows hold no column name; they read back keyed by name, in order.
        await using var connection = await _database.OpenAsync(CancellationToken.None);
        var stored = (await connection.QueryAsync<string>("SELECT data FROM dataset_rows WHERE name = 'wide'")).ToList();
        Assert.All(stored, data => Assert.DoesNotContain("a_rather_long", data));
        Assert.Equal(names, rows[0].Keys);
        Assert.Equal("190", rows[0]["a_rather_long_descriptive_column_name_20"]!.ToString());
        Assert.Equal(2, rows.Count);
    }

    [Fact]
    public async Task RowsStoredAsObjectsByEarlierVersionsStillRead()
    {
        var dataset = await CsvDatasetReader.ReadAsync(new MemoryStream("x,y\n1,a\n"u8.ToArray()), CancellationToken.None);
        await _store.AddVersionAsync("old", dataset, "00", AuditActor.Platform, CancellationToken.None);
        await using (var connection = await _database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync("UPDATE dataset_rows SET data = '{\"x\":1,\"y\":\"a\"}' WHERE name = 'old'");
        }

        var row = Assert.Single(await _store.GetRowsAsync("old", 1, 0, 10, CancellationToken.None));

        Assert.Equal(["x", "y"], row.Keys);
        Assert.Equal("a", row["y"]!.ToString());
    }

    public void Dispose() => _testDatabase.Dispose();
}

public sealed class DatasetStoreOnSqliteTests() : DatasetStoreTests(new SqliteTestDatabase());

[Collection(nameof(PostgresServer))]
public sealed class DatasetStoreOnPostgresTests(PostgresServer server) : DatasetStoreTests(new PostgresTestDatabase(server));
