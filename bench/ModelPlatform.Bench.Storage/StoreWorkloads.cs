using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using ModelPlatform.Feature;
using ModelPlatform.Feature.Datasets;
using ModelPlatform.Registry.Models;
using ModelPlatform.Storage;
using ModelPlatform.TestSupport;
using ModelPlatform.Training.Jobs;

namespace ModelPlatform.Bench.Storage;

/// <summary>What each store does most, on a fresh database of one engine: the same work on both.</summary>
internal static class StoreWorkloads
{
    private const int Rows = 100_000;
    private const int ArtifactBytes = 64 << 20;
    private const int Jobs = 200;
    private const int AliasMoves = 200;

    public static readonly Measure Upload = new("dataset upload (100 000 rows × 5 columns)", "rows/s");
    public static readonly Measure ArtifactWrite = new("artifact write (64 MiB)", "MB/s");
    public static readonly Measure ArtifactRead = new("artifact read, hash checked (64 MiB)", "MB/s");
    public static readonly Measure JobLifecycle = new("job lifecycle: submit, claim, 3 heartbeats, succeed (2 workers)", "jobs/s");
    public static readonly Measure Aliases = new("alias moves from 2 replicas at once", "moves/s");
    public static readonly Measure[] Measures = [Upload, ArtifactWrite, ArtifactRead, JobLifecycle, Aliases];

    /// <summary>Runs each store on a new database of its own from <paramref name="newDatabase"/>, as each service has its own.</summary>
    public static async Task<IReadOnlyList<(Measure, double)>> RunAsync(Func<ITestDatabase> newDatabase)
    {
        var clock = TimeProvider.System;
        var results = new List<(Measure, double)>();
        using var featureDatabase = newDatabase();
        using var registryDatabase = newDatabase();
        using var trainingDatabase = newDatabase();

        var feature = featureDatabase.Open(DatasetStore.Migrations);
        var featureBlobs = new BlobStore(feature, clock);
        var datasets = new DatasetStore(
            feature, new DatasetFiles(featureBlobs, feature, Options.Create(new FeatureOptions())), featureBlobs, clock);
        var columns = Enumerable.Range(0, 5).Select(i => new ColumnSchema($"c{i}", i == 4 ? ColumnType.Categorical : ColumnType.Numeric)).ToList();
        var upload = await Timing.SecondsAsync(() => datasets.AddVersionAsync(
            "bench", new CsvShape(columns, ",", Rows), RowsOf(Rows), new string('0', 64), AuditActor.Platform, CancellationToken.None));
        results.Add((Upload, Rows / upload));

        var registry = registryDatabase.Open(ModelStore.Migrations);
        var blobs = new BlobStore(registry, clock);
        var bytes = new byte[ArtifactBytes];
        new Random(42).NextBytes(bytes);
        BlobInfo stored = null!;
        var write = await Timing.SecondsAsync(async () => stored = await blobs.WriteAsync(new MemoryStream(bytes), CancellationToken.None));
        var read = await Timing.SecondsAsync(async () =>
        {
            await using var stream = (await blobs.OpenReadAsync(stored.Sha256, CancellationToken.None))!;
            await stream.CopyToAsync(Stream.Null);
        });
        results.Add((ArtifactWrite, ArtifactBytes / 1e6 / write));
        results.Add((ArtifactRead, ArtifactBytes / 1e6 / read));

        var jobs = new TrainingJobStore(trainingDatabase.Open(TrainingJobStore.Migrations), clock);
        var lifecycle = await Timing.SecondsAsync(() => Task.WhenAll(Enumerable.Range(0, 2).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; i < Jobs / 2; i++)
            {
                var job = await jobs.AddAsync(TrainingJob.Queued(Guid.CreateVersion7(), "m", "d", 1, "y", MLTask.Binary, "FastTree", null,
                    new TrainingJobOptions(null, 60, null, 5, 42, null, 3), clock.GetUtcNow()), columns, AuditActor.Platform, CancellationToken.None);
                await jobs.TryClaimAsync(job.Id, $"worker-{worker}", TimeSpan.FromSeconds(30), CancellationToken.None);
                for (var beat = 0; beat < 3; beat++)
                {
                    await jobs.HeartbeatAsync(
                        job.Id, $"worker-{worker}", TimeSpan.FromSeconds(30), new JobProgress("training", beat * 30), CancellationToken.None);
                }

                await jobs.SucceedAsync(job.Id, new Dictionary<string, double> { ["auc"] = 0.9 }, 1,
                    new TrainingReport("FastTree", new Dictionary<string, double>(), [], null, 1), CancellationToken.None);
            }
        }))));
        results.Add((JobLifecycle, Jobs / lifecycle));

        var models = new ModelStore(registry, blobs, clock);
        var staging = Directory.CreateTempSubdirectory("modelplatform-bench-");
        try
        {
            using (var artifact = await StagedFile.ReceiveAsync(staging.FullName, new MemoryStream([1, 2, 3]), CancellationToken.None))
            {
                await models.RegisterAsync("m", new RegisterModelVersionRequest(
                    new ModelSignature(MLTask.Binary, columns, new ColumnSchema("y", ColumnType.Categorical), ["no", "yes"]),
                    new Dictionary<string, double>(), new ModelLineage("d", 1, null, "FastTree")),
                    onnx: null, artifact, onnxExport: null, AuditActor.Platform, CancellationToken.None);
            }

            var moves = await Timing.SecondsAsync(() => Task.WhenAll(Enumerable.Range(0, 2).Select(replica => Task.Run(async () =>
            {
                for (var i = 0; i < AliasMoves / 2; i++)
                {
                    await models.SetAliasAsync("m", "production", new AliasRoute(1), AuditActor.Platform, CancellationToken.None);
                }
            }))));
            results.Add((Aliases, AliasMoves / moves));
        }
        finally
        {
            staging.Delete(recursive: true);
        }

        return results;
    }

    private static async IAsyncEnumerable<object?[]> RowsOf(int count)
    {
        for (var i = 0; i < count; i++)
        {
            yield return [i * 0.5, i % 97 * 1.25, Math.Sqrt(i), i % 13, i % 3 == 0 ? "alpha" : "beta"];
        }

        await Task.CompletedTask;
    }
}
