using ModelPlatform.Contracts;
using ModelPlatform.Storage;
using ModelPlatform.Training.Jobs;

namespace ModelPlatform.Training.Tests;

public sealed class TrainingJobStoreTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelplatform-training-").FullName;
    private readonly TrainingJobStore _store;

    public TrainingJobStoreTests() => _store = new TrainingJobStore(new ServiceDatabase(_directory, TrainingJobStore.Migrations), TimeProvider.System);

    public static TrainingJob NewJob() => new(
        Guid.CreateVersion7(), JobStatus.Queued, "iris", "iris", 1, "species", MLTask.Multiclass, "LightGbm", null,
        null, null, null, DateTimeOffset.UtcNow, null, null);

    [Fact]
    public async Task AcceptedJobsWaitInTheOutboxUntilPublished()
    {
        var first = await _store.AddAsync(NewJob(), CancellationToken.None);
        var second = await _store.AddAsync(NewJob(), CancellationToken.None);

        await _store.MarkPublishedAsync(first.Id, CancellationToken.None);
        var pending = await _store.GetUnpublishedAsync(10, CancellationToken.None);

        Assert.Equal([second.Id], pending.Select(job => job.Id));
    }

    [Fact]
    public async Task RecordsTheLifecycleOfAJob()
    {
        var job = await _store.AddAsync(NewJob(), CancellationToken.None);

        await _store.MarkRunningAsync(job.Id, CancellationToken.None);
        await _store.MarkSucceededAsync(job.Id, new Dictionary<string, double> { ["macroAccuracy"] = 0.97 }, 3, CancellationToken.None);
        var stored = await _store.GetAsync(job.Id, CancellationToken.None);

        Assert.Equal(JobStatus.Succeeded, stored!.Status);
        Assert.Equal(3, stored.ModelVersion);
        Assert.Equal(0.97, stored.Metrics!["macroAccuracy"]);
        Assert.NotNull(stored.StartedAt);
        Assert.NotNull(stored.FinishedAt);
    }

    [Fact]
    public async Task ListsJobsByStatusAndModel()
    {
        var running = await _store.AddAsync(NewJob(), CancellationToken.None);
        await _store.AddAsync(NewJob() with { ModelName = "other" }, CancellationToken.None);
        await _store.MarkRunningAsync(running.Id, CancellationToken.None);

        var jobs = await _store.ListAsync(JobStatus.Running, "iris", 10, CancellationToken.None);

        Assert.Equal([running.Id], jobs.Select(job => job.Id));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
