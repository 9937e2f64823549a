using Microsoft.Extensions.Time.Testing;
using ModelPlatform.Contracts;
using ModelPlatform.Storage;
using ModelPlatform.Training.Jobs;

namespace ModelPlatform.Training.Tests;

public sealed class TrainingJobStoreTests : IDisposable
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(15);
    private readonly string _directory = Directory.CreateTempSubdirectory("modelplatform-training-").FullName;
    // Jobs are created at the store's clock time, as the API does; a wall-clock creation time would sort a job's
    // "submitted" event after its later ones once the real clock passes this one.
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-11-26T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
    private readonly FakeTimeProvider _clock = new(Start);
    private readonly TrainingJobStore _store;

    public TrainingJobStoreTests() => _store = new TrainingJobStore(new ServiceDatabase(_directory, TrainingJobStore.Migrations), _clock);

    /// <summary>A queued job created at <paramref name="createdAt"/> (default: this test's clock), which should be the store's clock.</summary>
    public static TrainingJob NewJob(string model = "iris", DateTimeOffset? createdAt = null) => TrainingJob.Queued(
        Guid.CreateVersion7(), model, dataset: "iris", datasetVersion: 1, label: "species", MLTask.Multiclass, trainer: "LightGbm", positiveClass: null,
        new TrainingJobOptions(null, 60, null, 5, 42, null, 3), at: createdAt ?? Start);

    /// <summary>The columns of the dataset the jobs train on.</summary>
    public static IReadOnlyList<ColumnSchema> IrisColumns { get; } =
        [new("petal_length", ColumnType.Numeric), new("petal_width", ColumnType.Numeric), new("species", ColumnType.Categorical)];

    [Fact]
    public async Task AJobIsPublishedByOneRelayAtATime()
    {
        var job = await _store.AddAsync(NewJob(), IrisColumns, CancellationToken.None);

        var first = await _store.ClaimUnpublishedAsync(10, TimeSpan.FromSeconds(10), CancellationToken.None);
        var second = await _store.ClaimUnpublishedAsync(10, TimeSpan.FromSeconds(10), CancellationToken.None);
        _clock.Advance(TimeSpan.FromSeconds(11));
        var afterLease = await _store.ClaimUnpublishedAsync(10, TimeSpan.FromSeconds(10), CancellationToken.None);
        await _store.MarkPublishedAsync(job.Id, CancellationToken.None);
        _clock.Advance(TimeSpan.FromSeconds(11));
        var afterPublish = await _store.ClaimUnpublishedAsync(10, TimeSpan.FromSeconds(10), CancellationToken.None);

        Assert.Equal([(job.Id, 3)], first.Select(claim => (claim.Id, claim.MaxAttempts)));
        Assert.Empty(second);
        Assert.Single(afterLease);
        Assert.Empty(afterPublish);
    }

    [Fact]
    public async Task RecordsEveryAttemptAndStatusChange()
    {
        var job = await _store.AddAsync(NewJob(), IrisColumns, CancellationToken.None);

        await _store.TryClaimAsync(job.Id, "w1", Lease, CancellationToken.None);
        await _store.ReleaseAsync(job.Id, "w1", "attempt 1 failed, retrying: registry down", CancellationToken.None);
        await _store.TryClaimAsync(job.Id, "w2", Lease, CancellationToken.None);
        await _store.SucceedAsync(job.Id, new Dictionary<string, double> { ["macroAccuracy"] = 0.97 }, 3,
            new TrainingReport("LightGbm", new Dictionary<string, double>(), [], null, 120), CancellationToken.None);
        var stored = (await _store.GetAsync(job.Id, CancellationToken.None))!;

        Assert.Equal(JobStatus.Succeeded, stored.Status);
        Assert.Equal(3, stored.ModelVersion);
        Assert.Equal(0.97, stored.Metrics!["macroAccuracy"]);
        Assert.Equal([(1, "w1", "attempt 1 failed, retrying: registry down"), (2, "w2", null)], stored.Attempts!.Select(a => (a.Attempt, a.Worker, a.Error)));
        Assert.All(stored.Attempts!, attempt => Assert.NotNull(attempt.FinishedAt));
        Assert.Equal(
            [JobStatus.Queued, JobStatus.Running, JobStatus.Queued, JobStatus.Running, JobStatus.Succeeded],
            stored.History!.Select(change => change.Status));
        Assert.NotNull(stored.StartedAt);
        Assert.NotNull(stored.FinishedAt);
    }

    [Fact]
    public async Task AClaimHandsTheWorkerTheJobAndTheColumnsTheSubmitFound()
    {
        var job = await _store.AddAsync(NewJob(), IrisColumns, CancellationToken.None);

        var claim = await _store.TryClaimAsync(job.Id, "w1", Lease, CancellationToken.None);

        Assert.Equal(ClaimOutcome.Claimed, claim.Outcome);
        Assert.Equal((job.Id, JobStatus.Running, "iris", 1), (claim.Job!.Id, claim.Job.Status, claim.Job.Dataset, claim.Job.DatasetVersion));
        Assert.Equal(IrisColumns, claim.DatasetColumns);
    }

    [Fact]
    public async Task AnotherWorkerTakesAJobOnlyAfterItsLeaseRunsOut()
    {
        var job = await _store.AddAsync(NewJob(), IrisColumns, CancellationToken.None);
        await _store.TryClaimAsync(job.Id, "w1", Lease, CancellationToken.None);

        var whileHeld = await _store.TryClaimAsync(job.Id, "w2", Lease, CancellationToken.None);
        _clock.Advance(Lease + TimeSpan.FromSeconds(1));
        var afterExpiry = await _store.TryClaimAsync(job.Id, "w2", Lease, CancellationToken.None);
        var stored = (await _store.GetAsync(job.Id, CancellationToken.None))!;

        Assert.Equal(ClaimOutcome.HeldByAnotherWorker, whileHeld.Outcome);
        Assert.Equal(ClaimOutcome.Claimed, afterExpiry.Outcome);
        Assert.Equal(2, afterExpiry.Attempt);
        Assert.Contains("lease ran out", stored.Attempts![0].Error);
        await Assert.ThrowsAsync<LeaseLostException>(() => _store.HeartbeatAsync(job.Id, "w1", Lease, new JobProgress("training", 50), CancellationToken.None));
    }

    [Fact]
    public async Task HeartbeatSavesProgressAndReportsACancelRequest()
    {
        var job = await _store.AddAsync(NewJob(), IrisColumns, CancellationToken.None);
        await _store.TryClaimAsync(job.Id, "w1", Lease, CancellationToken.None);

        var before = await _store.HeartbeatAsync(job.Id, "w1", Lease, new JobProgress("searching", 40), CancellationToken.None);
        var requested = await _store.RequestCancelAsync(job.Id, CancellationToken.None);
        var after = await _store.HeartbeatAsync(job.Id, "w1", Lease, new JobProgress("searching", 45), CancellationToken.None);

        Assert.False(before);
        Assert.Equal(new JobProgress("searching", 40), requested!.Progress);
        Assert.True(requested.CancelRequested);
        Assert.True(after);
    }

    [Fact]
    public async Task CancellingAQueuedJobEndsItAndNoWorkerTakesIt()
    {
        var job = await _store.AddAsync(NewJob(), IrisColumns, CancellationToken.None);

        var cancelled = await _store.RequestCancelAsync(job.Id, CancellationToken.None);
        var claim = await _store.TryClaimAsync(job.Id, "w1", Lease, CancellationToken.None);

        Assert.Equal(JobStatus.Cancelled, cancelled!.Status);
        Assert.Equal(ClaimOutcome.Finished, claim.Outcome);
    }

    [Fact]
    public async Task ListsJobsByStatusAndModel()
    {
        var running = await _store.AddAsync(NewJob(), IrisColumns, CancellationToken.None);
        await _store.AddAsync(NewJob("other"), IrisColumns, CancellationToken.None);
        await _store.TryClaimAsync(running.Id, "w1", Lease, CancellationToken.None);

        var jobs = await _store.ListAsync(JobStatus.Running, "iris", 10, CancellationToken.None);

        Assert.Equal([running.Id], jobs.Select(job => job.Id));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
