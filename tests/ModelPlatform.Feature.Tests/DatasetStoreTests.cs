using System.Text;
using Dapper;
using Microsoft.Extensions.Time.Testing;
using ModelPlatform.Feature.Datasets;
using ModelPlatform.Storage;

namespace ModelPlatform.Feature.Tests;

public sealed class DatasetStoreTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelplatform-feature-").FullName;
    private readonly ServiceDatabase _database;
    private readonly DatasetStore _store;

    public DatasetStoreTests()
    {
        _database = new ServiceDatabase(_directory, DatasetStore.Migrations);
        _store = new DatasetStore(_database, new FakeTimeProvider());
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

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
