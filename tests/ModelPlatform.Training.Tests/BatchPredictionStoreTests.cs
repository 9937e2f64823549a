using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Time.Testing;
using ModelPlatform.Contracts;
using ModelPlatform.Storage;
using ModelPlatform.TestSupport;
using ModelPlatform.Training.Jobs;

namespace ModelPlatform.Training.Tests;

/// <summary>
/// Batch prediction jobs keep a training job's guarantees, from the same lifecycle over their own table; run on each engine
/// (the classes at the end of the file).
/// </summary>
public abstract class BatchPredictionStoreTests : IDisposable
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(15);
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-11-29T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
    private static readonly AuditActor Scientist = new("key-1", "alice", "10.0.0.7", "0af7651916cd43dd8448eb211c80319c");
    private readonly ITestDatabase _testDatabase;
    private readonly ServiceDatabase _database;
    private readonly FakeTimeProvider _clock = new(Start);
    private readonly BatchPredictionStore _store;

    protected BatchPredictionStoreTests(ITestDatabase testDatabase)
    {
        _testDatabase = testDatabase;
        _database = testDatabase.Open(TrainingJobStore.Migrations);
        _store = new BatchPredictionStore(_database, _clock);
    }

    private static BatchPredictionJob NewJob(string model = "fair") =>
        BatchPredictionJob.Queued(Guid.CreateVersion7(), model, 3, "production", "customers", 2, "customers-predictions", 1_000, 3, Start);

    [Fact]
    public async Task AJobIsStoredWithItsMessageClaimedUnderALeaseAndSucceedsWithTheVersionItsPredictionsBecame()
    {
        var job = await _store.AddAsync(NewJob(), Scientist, CancellationToken.None);
        await using (var connection = await _database.OpenAsync(CancellationToken.None))
        {
            var message = await connection.QuerySingleAsync<(string Type, string Subject, long MaxAttempts)>(
                "SELECT event_type, subject, max_attempts FROM outbox");
            Assert.Equal(("BatchPredictionSubmitted", job.Id.ToString(), 3L), (message.Type, message.Subject, message.MaxAttempts));
        }

        var claim = await _store.TryClaimAsync(job.Id, "w1", Lease, CancellationToken.None);
        var whileHeld = await _store.TryClaimAsync(job.Id, "w2", Lease, CancellationToken.None);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await _store.SucceedAsync(job.Id, 4, new Dictionary<string, double> { ["scoring"] = 1.5 }, CancellationToken.None);

        Assert.Equal((ClaimOutcome.Claimed, 1, "customers", 2), (claim.Outcome, claim.Attempt, claim.Job!.Dataset, claim.Job.DatasetVersion));
        Assert.Equal(ClaimOutcome.HeldByAnotherWorker, whileHeld.Outcome);
        var finished = (await _store.GetAsync(job.Id, CancellationToken.None))!;
        Assert.Equal((JobStatus.Succeeded, 4, 3, "production"), (finished.Status, finished.OutputVersion, finished.ModelVersion, finished.Alias));
        Assert.Equal([JobStatus.Queued, JobStatus.Running, JobStatus.Succeeded], finished.History!.Select(change => change.Status));
        Assert.Equal("w1", Assert.Single(finished.Attempts!).Worker);
        Assert.Equal(1.5, finished.PhaseSeconds!["scoring"]);
        Assert.Equal(ClaimOutcome.Finished, (await _store.TryClaimAsync(job.Id, "w2", Lease, CancellationToken.None)).Outcome);
    }

    [Fact]
    public async Task SubmittingAndCancellingAreAuditedAsBatchPredictions()
    {
        var job = await _store.AddAsync(NewJob(), Scientist, CancellationToken.None);

        var cancelled = await _store.RequestCancelAsync(job.Id, Scientist, CancellationToken.None);

        Assert.Equal(JobStatus.Cancelled, cancelled!.Status);
        var trail = await AuditLog.QueryAsync(_database, actor: "alice", resource: $"batch-predictions/{job.Id}", action: null,
            from: null, to: null, before: null, limit: 10, CancellationToken.None);
        Assert.Equal(["batch-prediction.cancelled", "batch-prediction.submitted"], trail.Records.Select(record => record.Action));
        Assert.Null(await _store.RequestCancelAsync(Guid.NewGuid(), Scientist, CancellationToken.None));
    }

    [Fact]
    public async Task AJobNobodyRunsLongAfterItWasSentIsSentAgain()
    {
        var job = await _store.AddAsync(NewJob(), AuditActor.Platform, CancellationToken.None);
        await using (var connection = await _database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync("UPDATE outbox SET published_at = @now", new { now = Start.ToString("O") });
        }

        _clock.Advance(TimeSpan.FromHours(1));
        var sent = await _store.RepublishStuckAsync(TimeSpan.FromMinutes(30), CancellationToken.None);
        var again = await _store.RepublishStuckAsync(TimeSpan.FromMinutes(30), CancellationToken.None);

        Assert.Equal((1, 0), (sent, again));
        await using var reading = await _database.OpenAsync(CancellationToken.None);
        Assert.Equal(2, await reading.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM outbox WHERE subject = @id", new { id = job.Id.ToString() }));
    }

    [Fact]
    public async Task ABackgroundJobsMessageGoesInTheBackgroundLaneAndStaysThereWhenSentAgain()
    {
        var job = await _store.AddAsync(NewJob() with { Priority = JobPriority.Background }, AuditActor.Platform, CancellationToken.None);
        await using (var connection = await _database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync("UPDATE outbox SET published_at = @now", new { now = Start.ToString("O") });
        }

        _clock.Advance(TimeSpan.FromHours(1));
        await _store.RepublishStuckAsync(TimeSpan.FromMinutes(30), CancellationToken.None);

        await using var reading = await _database.OpenAsync(CancellationToken.None);
        var messages = (await reading.QueryAsync<string>("SELECT payload FROM outbox ORDER BY id"))
            .Select(payload => JsonSerializer.Deserialize<BatchPredictionSubmitted>(payload, JsonSerializerOptions.Web)!).ToList();
        Assert.Equal(2, messages.Count);
        Assert.All(messages, message => Assert.Equal((job.Id, "background"), (message.JobId, message.Lane)));
        Assert.Equal(JobPriority.Background, (await _store.GetAsync(job.Id, CancellationToken.None))!.Priority);
    }

    [Fact]
    public async Task ListsJobsByStatusAndModel()
    {
        var running = await _store.AddAsync(NewJob(), AuditActor.Platform, CancellationToken.None);
        await _store.AddAsync(NewJob("other"), AuditActor.Platform, CancellationToken.None);
        await _store.TryClaimAsync(running.Id, "w1", Lease, CancellationToken.None);

        Assert.Equal([running.Id], (await _store.ListAsync(JobStatus.Running, "fair", 10, CancellationToken.None)).Select(job => job.Id));
        Assert.Equal(2, (await _store.ListAsync(null, null, 10, CancellationToken.None)).Count);
    }

    public void Dispose()
    {
        _testDatabase.Dispose();
        GC.SuppressFinalize(this);
    }
}

public sealed class BatchPredictionStoreOnSqliteTests() : BatchPredictionStoreTests(new SqliteTestDatabase());

[Collection(nameof(PostgresServer))]
public sealed class BatchPredictionStoreOnPostgresTests(PostgresServer server) : BatchPredictionStoreTests(new PostgresTestDatabase(server));
