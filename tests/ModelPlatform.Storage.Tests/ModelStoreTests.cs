using Dapper;
using Microsoft.Extensions.Time.Testing;
using ModelPlatform.Contracts;
using ModelPlatform.Registry.Models;
using ModelPlatform.TestSupport;

namespace ModelPlatform.Storage.Tests;

/// <summary>
/// The registry's store as several replicas use it: each test opens the one database twice, as two replicas would, and
/// races them. Run on each engine: see the classes at the end of the file.
/// </summary>
public abstract class ModelStoreTests : IDisposable
{
    private readonly ITestDatabase _testDatabase;
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-11-28T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly ServiceDatabase _database;
    private readonly ModelStore[] _replicas;
    private readonly DirectoryInfo _uploads = Directory.CreateTempSubdirectory("modelplatform-registry-");

    protected ModelStoreTests(ITestDatabase testDatabase)
    {
        _testDatabase = testDatabase;
        _database = testDatabase.Open(ModelStore.Migrations);
        _replicas = [Replica(_database), Replica(testDatabase.Open(ModelStore.Migrations))];
    }

    private ModelStore Replica(ServiceDatabase database) => new(database, new BlobStore(database, _clock), _clock);

    private static readonly ModelSignature Signature = new(
        MLTask.Regression, [new ColumnSchema("x", ColumnType.Numeric)], new ColumnSchema("y", ColumnType.Numeric), null);

    private static RegisterModelVersionRequest Request(Guid? jobId = null, TrainingSetLineage? trainingSet = null) =>
        new(Signature, new Dictionary<string, double> { ["rmse"] = 0.5 }, new ModelLineage("data", 1, jobId, "Sdca", trainingSet));

    private async Task<ModelVersionInfo> RegisterAsync(
        ModelStore store, string name, byte[] artifact, Guid? jobId = null, TrainingSetLineage? trainingSet = null)
    {
        using var staged = await StagedFile.ReceiveAsync(_uploads.FullName, new MemoryStream(artifact), CancellationToken.None);
        return (await store.RegisterAsync(name, Request(jobId, trainingSet), null, staged, null, AuditActor.Platform, CancellationToken.None)).Version;
    }

    [Fact]
    public async Task VersionsTrainedFromAFeatureServiceAreFoundByIt()
    {
        static TrainingSetLineage From(string service) =>
            new(service, 1, "labels", 1, "at",
                [new ViewLineage("activity", 1, "activity", [1], ["customer_id"], 0, [new FeatureColumn("spend", "activity__spend")])]);
        var none = await _replicas[0].GetVersionsUsingFeaturesAsync(null, CancellationToken.None);
        await RegisterAsync(_replicas[0], "plain", Artifact(1));
        await RegisterAsync(_replicas[0], "churn", Artifact(2), trainingSet: From("churn"));
        await RegisterAsync(_replicas[1], "fraud", Artifact(3), trainingSet: From("fraud"));

        var all = await _replicas[0].GetVersionsUsingFeaturesAsync(null, CancellationToken.None);
        var churn = await _replicas[1].GetVersionsUsingFeaturesAsync("churn", CancellationToken.None);

        Assert.Empty(none);
        Assert.Equal(["churn", "fraud"], all.Select(version => version.ModelName));
        Assert.Equal("activity__spend", Assert.Single(churn).Lineage.TrainingSet!.Views[0].Features[0].Column);
    }

    private static byte[] Artifact(int seed) => System.Text.Encoding.UTF8.GetBytes($"model bytes {seed}");

    [Fact]
    public async Task ReplicasRegisteringOneModelAtOnceGiveEveryVersionItsOwnNumber()
    {
        var registrations = Enumerable.Range(0, 12).Select(i => RegisterAsync(_replicas[i % 2], "iris", Artifact(i)));

        var versions = await Task.WhenAll(registrations);

        Assert.Equal(Enumerable.Range(1, 12), versions.Select(version => version.Version).Order());
        Assert.Equal(12, (await _replicas[0].GetVersionsAsync("iris", CancellationToken.None)).Count);
    }

    [Fact]
    public async Task TwoDeliveriesOfOneJobRacingOnTwoReplicasRegisterOneVersion()
    {
        var jobId = Guid.CreateVersion7();

        var versions = await Task.WhenAll(
            RegisterAsync(_replicas[0], "iris", Artifact(1), jobId), RegisterAsync(_replicas[1], "iris", Artifact(2), jobId));

        Assert.Equal((versions[0].Version, versions[0].Sha256), (versions[1].Version, versions[1].Sha256));
        Assert.Single(await _replicas[0].GetVersionsAsync("iris", CancellationToken.None));
    }

    [Fact]
    public async Task AliasMovesFromBothReplicasAreNumberedOneAfterAnotherWithNoneLost()
    {
        for (var i = 0; i < 3; i++)
        {
            await RegisterAsync(_replicas[0], "iris", Artifact(i));
        }

        var moves = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            _replicas[i % 2].SetAliasAsync("iris", "production", new AliasRoute(1 + (i % 3)), AuditActor.Platform, CancellationToken.None)));

        Assert.Equal(Enumerable.Range(1, 10).Select(n => (long)n), moves.Select(move => move.Sequence).Order());
        Assert.Equal(10, (await _replicas[1].GetAliasAsync("iris", "production", CancellationToken.None))!.Sequence);
        await using var connection = await _database.OpenAsync(CancellationToken.None);
        Assert.Equal(10, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM outbox WHERE event_type = 'AliasChanged'"));
    }

    [Fact]
    public async Task AnArtifactRegisteredThroughOneReplicaDownloadsThroughTheOtherUnderItsChecksum()
    {
        var bytes = new byte[BlobStore.ChunkBytes * 2 + 7];
        new Random(7).NextBytes(bytes);
        var version = await RegisterAsync(_replicas[0], "iris", bytes);

        await using var artifact = await _replicas[1].OpenArtifactAsync(version.Sha256, CancellationToken.None);
        using var copy = new MemoryStream();
        await artifact!.CopyToAsync(copy);

        Assert.Equal(bytes, copy.ToArray());
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), version.Sha256);
        Assert.Equal(bytes.Length, version.SizeBytes);
    }

    [Fact]
    public async Task OnlyArtifactsNoVersionNamesAreSweptAndOnlyOnceTheyAreAnHourOld()
    {
        var named = await RegisterAsync(_replicas[0], "iris", Artifact(1));
        var unnamed = await new BlobStore(_database, _clock).WriteAsync(new MemoryStream(Artifact(2)), CancellationToken.None);

        _clock.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(0, await _replicas[1].DeleteUnreferencedArtifactsAsync(CancellationToken.None));
        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, await _replicas[1].DeleteUnreferencedArtifactsAsync(CancellationToken.None));

        Assert.Null(await _replicas[0].OpenArtifactAsync(unnamed.Sha256, CancellationToken.None));
        await using var kept = await _replicas[0].OpenArtifactAsync(named.Sha256, CancellationToken.None);
        Assert.NotNull(kept);
    }

    public void Dispose()
    {
        _testDatabase.Dispose();
        _uploads.Delete(recursive: true);
    }
}

public sealed class ModelStoreOnSqliteTests() : ModelStoreTests(new SqliteTestDatabase());

[Collection(nameof(PostgresServer))]
public sealed class ModelStoreOnPostgresTests(PostgresServer server) : ModelStoreTests(new PostgresTestDatabase(server));
