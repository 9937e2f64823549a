using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Time.Testing;
using ModelPlatform.Contracts;
using ModelPlatform.Storage;
using ModelPlatform.TestSupport;
using ModelPlatform.Training.Jobs;

namespace ModelPlatform.Training.Tests;

/// <summary>Run on each engine: see the classes at the end of the file.</summary>
public abstract class TrainingJobStoreTests : IDisposable
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan RepublishAfter = TimeSpan.FromMinutes(30);
    private readonly ITestDatabase _testDatabase;
    // Jobs are created at the store's clock time, as the API does; a wall-clock creation time would sort a job's
    // "submitted" event after its later ones once the real clock passes this one.
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-11-26T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
    private readonly FakeTimeProvider _clock = new(Start);
    private readonly TrainingJobStore _store;

    private readonly ServiceDatabase _database;

    protected TrainingJobStoreTests(ITestDatabase testDatabase)
    {
        _testDatabase = testDatabase;
        _database = testDatabase.Open(TrainingJobStore.Migrations);
        _store = new TrainingJobStore(_database, _clock);
    }

    /// <summary>A queued job created at <paramref name="createdAt"/> (default: this test's clock), which should be the store's clock.</summary>
    public static TrainingJob NewJob(string model = "iris", DateTimeOffset? createdAt = null) => TrainingJob.Queued(
        Guid.CreateVersion7(), model, dataset: "iris", datasetVersion: 1, label: "species", MLTask.Multiclass, trainer: "LightGbm", positiveClass: null,
        new TrainingJobOptions(null, 60, null, 5, 42, null, 3), at: createdAt ?? Start);

    /// <summary>The columns of the dataset the jobs train on.</summary>
    public static IReadOnlyList<ColumnSchema> IrisColumns { get; } =
        [new("petal_length", ColumnType.Numeric), new("petal_width", ColumnType.Numeric), new("species", ColumnType.Categorical)];

    private static readonly AuditActor Scientist = new("key-1", "alice", "10.0.0.7", "0af7651916cd43dd8448eb211c80319c");

    [Fact]
    public async Task SubmittingAndCancellingAJobEachLeaveOneAuditRecordWithItsAuthor()
    {
        var job = await _store.AddAsync(NewJob(), IrisColumns, Scientist, CancellationToken.None);
        _clock.Advance(TimeSpan.FromSeconds(1));

        await _store.RequestCancelAsync(job.Id, Scientist, CancellationToken.None);
        await _store.RequestCancelAsync(job.Id, Scientist, CancellationToken.None);

        var trail = await AuditLog.QueryAsync(_database, actor: "alice", resource: $"training-jobs/{job.Id}", action: null,
            from: null, to: null, before: null, limit: 10, CancellationToken.None);
        Assert.Equal(["training-job.cancelled", "training-job.submitted"], trail.Records.Select(record => record.Action));
        var cancelled = trail.Records[0];
        Assert.Equal(("key-1", "10.0.0.7", "0af7651916cd43dd8448eb211c80319c"), (cancelled.ActorId, cancelled.ClientAddress, cancelled.TraceId));
        Assert.Equal("queued", cancelled.Before!.Value.GetProperty("status").GetString());
        Assert.Equal("cancelled", cancelled.After!.Value.GetProperty("status").GetString());
        Assert.Equal(Start.AddSeconds(1), cancelled.At);
    }

    [Fact]
    public async Task AuditRecordsCanBeNeitherChangedNorDeleted()
    {
        await _store.AddAsync(NewJob(), IrisColumns, Scientist, CancellationToken.None);

        await using var connection = await _database.OpenAsync(CancellationToken.None);
        var update = await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() =>
            Dapper.SqlMapper.ExecuteAsync(connection, "UPDATE audit SET actor_name = 'mallory'"));
        var delete = await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() =>
            Dapper.SqlMapper.ExecuteAsync(connection, "DELETE FROM audit"));

        Assert.Contains("append-only", update.Message);
        Assert.Contains("append-only", delete.Message);
    }

    [Fact]
    public async Task ASubmittedJobsMessageIsInTheOutboxWithTheJob()
    {
        var job = await _store.AddAsync(NewJob(), IrisColumns, AuditActor.Platform, CancellationToken.None);

        await using var connection = await _database.OpenAsync(CancellationToken.None);
        var message = await connection.QuerySingleAsync<(string Type, string Subject, string Payload, long MaxAttempts)>(
            "SELECT event_type, subject, payload, max_attempts FROM outbox");

        Assert.Equal(("TrainingJobSubmitted", job.Id.ToString(), 3L), (message.Type, message.Subject, message.MaxAttempts));
        Assert.Contains(job.Id.ToString(), message.Payload);
        Assert.Null(JsonSerializer.Deserialize<TrainingJobSubmitted>(message.Payload, JsonSerializerOptions.Web)!.Lane);
    }

    [Fact]
    public async Task AJobNobodyRunsLongAfterItWasSentIsSentAgainOnce()
    {
        // Arrange: three jobs sent; one is still queued, one runs under a lease that runs out, one has finished.
        var queued = await _store.AddAsync(NewJob(), IrisColumns, AuditActor.Platform, CancellationToken.None);
        var running = await _store.AddAsync(NewJob("other"), IrisColumns, AuditActor.Platform, CancellationToken.None);
        var finished = await _store.AddAsync(NewJob("third"), IrisColumns, AuditActor.Platform, CancellationToken.None);
        await MarkSentAsync();
        await _store.TryClaimAsync(running.Id, "w1", Lease, CancellationToken.None);
        await _store.TryClaimAsync(finished.Id, "w1", Lease, CancellationToken.None);
        await _store.EndAsync(finished.Id, JobStatus.Failed, "bad label", CancellationToken.None);

        // Act: sweep just before the deadline, after it, and again before the new messages are sent.
        _clock.Advance(RepublishAfter - TimeSpan.FromSeconds(1));
        var early = await _store.RepublishStuckAsync(RepublishAfter, CancellationToken.None);
        _clock.Advance(Lease + TimeSpan.FromSeconds(2));
        var late = await _store.RepublishStuckAsync(RepublishAfter, CancellationToken.None);
        var again = await _store.RepublishStuckAsync(RepublishAfter, CancellationToken.None);

        // Assert
        Assert.Equal((0, 2, 0), (early, late, again));
        await using var connection = await _database.OpenAsync(CancellationToken.None);
        var pending = await connection.QueryAsync<string>("SELECT subject FROM outbox WHERE published_at IS NULL ORDER BY subject");
        Assert.Equal(new[] { queued.Id.ToString(), running.Id.ToString() }.Order(), pending);
    }

    [Fact]
    public async Task ABackgroundJobsMessageGoesInTheBackgroundLaneAndStaysThereWhenSentAgain()
    {
        var job = await _store.AddAsync(NewJob() with { Priority = JobPriority.Background }, IrisColumns, AuditActor.Platform, CancellationToken.None);
        await MarkSentAsync();

        _clock.Advance(RepublishAfter + TimeSpan.FromSeconds(1));
        var sent = await _store.RepublishStuckAsync(RepublishAfter, CancellationToken.None);

        Assert.Equal(1, sent);
        await using var connection = await _database.OpenAsync(CancellationToken.None);
        var messages = (await connection.QueryAsync<string>("SELECT payload FROM outbox ORDER BY id"))
            .Select(payload => JsonSerializer.Deserialize<TrainingJobSubmitted>(payload, JsonSerializerOptions.Web)!).ToList();
        Assert.Equal(2, messages.Count);
        Assert.All(messages, message => Assert.Equal((job.Id, JobPriority.Background, "background"), (message.JobId, message.Priority, message.Lane)));
        Assert.Equal(JobPriority.Background, (await _store.GetAsync(job.Id, CancellationToken.None))!.Priority);
    }

    private async Task MarkSentAsync()
    {
        await using var connection = await _database.OpenAsync(CancellationToken.None);
        await connection.ExecuteAsync("UPDATE outbox SET published_at = @now", new { now = _clock.GetUtcNow().ToString("O") });
    }

    [Fact]
    public async Task AJobWhoseAttemptsKeepStoppingTheirWorkerFailsAtTheCapInsteadOfCrashLooping()
    {
        var job = await _store.AddAsync(NewJob(), IrisColumns, AuditActor.Platform, CancellationToken.None);
        var claims = new List<ClaimOutcome>();

        // Each attempt's worker dies (no release, no retry header): the next delivery finds the lease run out.
        for (var delivery = 0; delivery < 4; delivery++)
        {
            claims.Add((await _store.TryClaimAsync(job.Id, $"w{delivery}", Lease, CancellationToken.None)).Outcome);
            _clock.Advance(Lease + TimeSpan.FromSeconds(1));
        }

        var stored = (await _store.GetAsync(job.Id, CancellationToken.None))!;
        Assert.Equal([ClaimOutcome.Claimed, ClaimOutcome.Claimed, ClaimOutcome.Claimed, ClaimOutcome.Finished], claims);
        Assert.Equal(JobStatus.Failed, stored.Status);
        Assert.Contains("gave up after 3 attempts", stored.History![^1].Detail);
    }

    [Fact]
    public async Task RecordsEveryAttemptAndStatusChange()
    {
        var job = await _store.AddAsync(NewJob(), IrisColumns, AuditActor.Platform, CancellationToken.None);

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
        var job = await _store.AddAsync(NewJob(), IrisColumns, AuditActor.Platform, CancellationToken.None);

        var claim = await _store.TryClaimAsync(job.Id, "w1", Lease, CancellationToken.None);

        Assert.Equal(ClaimOutcome.Claimed, claim.Outcome);
        Assert.Equal((job.Id, JobStatus.Running, "iris", 1), (claim.Job!.Id, claim.Job.Status, claim.Job.Dataset, claim.Job.DatasetVersion));
        Assert.Equal(IrisColumns, claim.Job.DatasetColumns);
    }

    [Fact]
    public async Task AnotherWorkerTakesAJobOnlyAfterItsLeaseRunsOut()
    {
        var job = await _store.AddAsync(NewJob(), IrisColumns, AuditActor.Platform, CancellationToken.None);
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
        var job = await _store.AddAsync(NewJob(), IrisColumns, AuditActor.Platform, CancellationToken.None);
        await _store.TryClaimAsync(job.Id, "w1", Lease, CancellationToken.None);

        var before = await _store.HeartbeatAsync(job.Id, "w1", Lease, new JobProgress("searching", 40), CancellationToken.None);
        var requested = await _store.RequestCancelAsync(job.Id, Scientist, CancellationToken.None);
        var after = await _store.HeartbeatAsync(job.Id, "w1", Lease, new JobProgress("searching", 45), CancellationToken.None);

        Assert.False(before);
        Assert.Equal(new JobProgress("searching", 40), requested!.Progress);
        Assert.True(requested.CancelRequested);
        Assert.True(after);
    }

    [Fact]
    public async Task CancellingAQueuedJobEndsItAndNoWorkerTakesIt()
    {
        var job = await _store.AddAsync(NewJob(), IrisColumns, AuditActor.Platform, CancellationToken.None);

        var cancelled = await _store.RequestCancelAsync(job.Id, Scientist, CancellationToken.None);
        var claim = await _store.TryClaimAsync(job.Id, "w1", Lease, CancellationToken.None);

        Assert.Equal(JobStatus.Cancelled, cancelled!.Status);
        Assert.Equal(ClaimOutcome.Finished, claim.Outcome);
    }

    [Fact]
    public async Task ListsJobsByStatusAndModel()
    {
        var running = await _store.AddAsync(NewJob(), IrisColumns, AuditActor.Platform, CancellationToken.None);
        await _store.AddAsync(NewJob("other"), IrisColumns, AuditActor.Platform, CancellationToken.None);
        await _store.TryClaimAsync(running.Id, "w1", Lease, CancellationToken.None);

        var jobs = await _store.ListAsync(JobStatus.Running, "iris", 10, CancellationToken.None);

        Assert.Equal([running.Id], jobs.Select(job => job.Id));
    }

    public void Dispose()
    {
        _testDatabase.Dispose();
    }
}

public sealed class TrainingJobStoreOnSqliteTests() : TrainingJobStoreTests(new SqliteTestDatabase());

[Collection(nameof(PostgresServer))]
public sealed class TrainingJobStoreOnPostgresTests(PostgresServer server) : TrainingJobStoreTests(new PostgresTestDatabase(server));
