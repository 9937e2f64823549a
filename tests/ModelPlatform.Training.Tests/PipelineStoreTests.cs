using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using ModelPlatform.Contracts;
using ModelPlatform.Storage;
using ModelPlatform.TestSupport;
using ModelPlatform.Training.Jobs;
using ModelPlatform.Training.Pipelines;

namespace ModelPlatform.Training.Tests;

/// <summary>
/// Pipelines' definitions, triggers and runs, on each engine (the classes at the end of the file). Two stores over one
/// database stand for two replicas.
/// </summary>
public abstract class PipelineStoreTests : IDisposable
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-11-29T10:00:30Z", CultureInfo.InvariantCulture);
    private static readonly AuditActor Scientist = new("key-1", "alice", "10.0.0.7", null);
    private readonly ITestDatabase _testDatabase;
    private readonly ServiceDatabase _database;
    private readonly FakeTimeProvider _clock = new(Start);
    private readonly PipelineStore _store;
    private readonly PipelineStore _otherReplica;

    protected PipelineStoreTests(ITestDatabase testDatabase)
    {
        _testDatabase = testDatabase;
        _database = testDatabase.Open(TrainingJobStore.Migrations);
        _store = new PipelineStore(_database, _clock);
        _otherReplica = new PipelineStore(_database, _clock);
    }

    private static PipelineDefinition Hourly(string? concurrency = null) => new(
        "iris", "iris", new PipelineTraining("species", MLTask.Multiclass), Schedule: new PipelineSchedule("0 * * * *"), Concurrency: concurrency);

    private Task<(PipelineInfo Pipeline, bool Created)> SaveAsync(string name, PipelineDefinition definition) =>
        _store.SaveAsync(name, definition, definition.Schedule is { } schedule ? CronSchedule.Parse(schedule).Schedule : null, Scientist,
            CancellationToken.None);

    [Fact]
    public async Task EachChangeIsANewVersionAuditedWithItsDefinitionBeforeAndAfter()
    {
        var (first, created) = await SaveAsync("nightly", Hourly());
        var (second, createdAgain) = await SaveAsync("nightly", Hourly() with { Concurrency = PipelineValidation.Queue });
        Assert.True(await _store.DeleteAsync("nightly", Scientist, CancellationToken.None));
        var (third, recreated) = await SaveAsync("nightly", Hourly());

        Assert.Equal((1, true, 2, false, 3, true), (first.Version, created, second.Version, createdAgain, third.Version, recreated));
        Assert.Equal(DateTimeOffset.Parse("2026-11-29T11:00:00Z", CultureInfo.InvariantCulture), first.NextTickAt);
        Assert.Equal([3, 2, 1], (await _store.ListVersionsAsync("nightly", CancellationToken.None)).Select(version => version.Version));
        Assert.Equal(PipelineValidation.Queue, (await _store.ListVersionsAsync("nightly", CancellationToken.None))[1].Definition.Concurrency);
        var trail = await AuditLog.QueryAsync(_database, actor: "alice", resource: "pipelines/nightly", action: null,
            from: null, to: null, before: null, limit: 10, CancellationToken.None);
        Assert.Equal(["pipeline.created", "pipeline.deleted", "pipeline.updated", "pipeline.created"], trail.Records.Select(record => record.Action));
        Assert.Equal(1, trail.Records[2].Before!.Value.GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task ATickMissedSeveralTimesRunsOnceForTheLatestAndOnlyOneReplicaStartsIt()
    {
        await SaveAsync("nightly", Hourly());
        // Down from before 11:00 until after 13:00: the ticks of 11, 12 and 13 o'clock passed.
        _clock.SetUtcNow(DateTimeOffset.Parse("2026-11-29T13:20:00Z", CultureInfo.InvariantCulture));

        var both = await Task.WhenAll(
            _store.TriggerDueAsync(_clock.GetUtcNow(), CancellationToken.None),
            _otherReplica.TriggerDueAsync(_clock.GetUtcNow(), CancellationToken.None));

        var run = Assert.Single(both.SelectMany(runs => runs));
        Assert.Equal((PipelineTrigger.Schedule, 2, PipelineRunStatuses.Pending), (run.Trigger.Kind, run.Trigger.MissedTicks, run.Status));
        Assert.Equal(DateTimeOffset.Parse("2026-11-29T13:00:00Z", CultureInfo.InvariantCulture), run.Trigger.Tick);
        Assert.Equal(DateTimeOffset.Parse("2026-11-29T14:00:00Z", CultureInfo.InvariantCulture),
            (await _store.GetAsync("nightly", CancellationToken.None))!.NextTickAt);
        Assert.Empty(await _store.TriggerDueAsync(_clock.GetUtcNow(), CancellationToken.None));
        Assert.Contains("2 earlier tick(s) missed", run.Steps[0].Detail);
    }

    [Fact]
    public async Task ATriggerWhileARunIsActiveIsSkippedOrWaitsItsTurnByTheConcurrency()
    {
        await SaveAsync("skipping", Hourly());
        await SaveAsync("queueing", Hourly(PipelineValidation.Queue));
        var skipping = (await _store.TriggerAsync("skipping", Scientist, CancellationToken.None))!;
        var queueing = (await _store.TriggerAsync("queueing", Scientist, CancellationToken.None))!;

        var skipped = (await _store.TriggerAsync("skipping", Scientist, CancellationToken.None))!;
        var waiting = (await _store.TriggerAsync("queueing", Scientist, CancellationToken.None))!;
        var third = (await _store.TriggerAsync("queueing", Scientist, CancellationToken.None))!;

        Assert.Equal(PipelineRunStatuses.Skipped, skipped.Status);
        Assert.Contains(skipping.Id.ToString(), skipped.Reason);
        Assert.Equal((PipelineRunStatuses.Waiting, PipelineRunStatuses.Skipped), (waiting.Status, third.Status));

        // The active run ends: the waiting one starts, and only then.
        await _store.AdvanceAsync(queueing, new RunChange(PipelineRunStatuses.Failed, "failed", "the training job failed: boom", Reason: "boom"),
            CancellationToken.None);
        var started = (await _store.GetRunAsync(waiting.Id, CancellationToken.None))!;
        Assert.Equal(PipelineRunStatuses.Pending, started.Status);
        Assert.Contains($"run {queueing.Id} ended (failed)", started.Steps[^1].Detail);
        Assert.Equal([started.Id], (await _store.ListActiveRunsAsync(CancellationToken.None)).Where(run => run.Pipeline == "queueing").Select(run => run.Id));
    }

    [Fact]
    public async Task NewDataRunsOnceTheVersionsStopComingForTheDebounceAndAVersionHeardAgainChangesNothing()
    {
        await SaveAsync("fresh", new PipelineDefinition("iris", "iris", new PipelineTraining("species", MLTask.Multiclass),
            OnNewData: new DataTrigger(DebounceSeconds: 60)));
        await SaveAsync("other-data", new PipelineDefinition("fair", "customers", new PipelineTraining("churned", MLTask.Binary),
            OnNewData: new DataTrigger()));

        Assert.Equal(1, await _store.NoteDatasetVersionAsync("iris", 2, CancellationToken.None));
        _clock.Advance(TimeSpan.FromSeconds(40));
        Assert.Equal(1, await _store.NoteDatasetVersionAsync("iris", 3, CancellationToken.None));
        Assert.Equal(0, await _store.NoteDatasetVersionAsync("iris", 2, CancellationToken.None));
        _clock.Advance(TimeSpan.FromSeconds(40));
        var early = await _store.TriggerDueAsync(_clock.GetUtcNow(), CancellationToken.None);
        var pending = (await _store.GetAsync("fresh", CancellationToken.None))!.PendingData;
        _clock.Advance(TimeSpan.FromSeconds(20));
        var due = await _store.TriggerDueAsync(_clock.GetUtcNow(), CancellationToken.None);

        Assert.Empty(early);
        Assert.Equal(3, pending!.DatasetVersion);
        var run = Assert.Single(due);
        Assert.Equal((PipelineTrigger.Data, 3, "fresh"), (run.Trigger.Kind, run.Trigger.DatasetVersion, run.Pipeline));
        Assert.Null((await _store.GetAsync("fresh", CancellationToken.None))!.PendingData);
        Assert.Equal(0, await _store.NoteDatasetVersionAsync("iris", 3, CancellationToken.None));
    }

    [Fact]
    public async Task ARunEndsWithOneStepSayingWhyWhetherItsJobWasCancelledOrItsPipelineDeleted()
    {
        await SaveAsync("queueing", Hourly(PipelineValidation.Queue));
        var active = (await _store.TriggerAsync("queueing", Scientist, CancellationToken.None))!;
        var waiting = (await _store.TriggerAsync("queueing", Scientist, CancellationToken.None))!;

        await _store.AdvanceAsync(active, new RunChange(PipelineRunStatuses.Cancelled, "cancelled", "training job x was cancelled",
            Reason: "its training job was cancelled"), CancellationToken.None);
        var started = (await _store.GetRunAsync(waiting.Id, CancellationToken.None))!;
        await _store.DeleteAsync("queueing", Scientist, CancellationToken.None);
        var stillActive = (await _store.GetRunAsync(waiting.Id, CancellationToken.None))!;

        var cancelled = (await _store.GetRunAsync(active.Id, CancellationToken.None))!;
        Assert.Equal((PipelineRunStatuses.Cancelled, "its training job was cancelled"), (cancelled.Status, cancelled.Reason));
        Assert.Single(cancelled.Steps, step => step.Step == PipelineRunStatuses.Cancelled);
        // The run that waited had started (pending) by the delete: a delete cancels only runs still waiting.
        Assert.Equal((PipelineRunStatuses.Pending, PipelineRunStatuses.Pending), (started.Status, stillActive.Status));
    }

    [Fact]
    public async Task ADeletedPipelinesWaitingRunIsCancelledWithOneStepSayingWhy()
    {
        await SaveAsync("queueing", Hourly(PipelineValidation.Queue));
        await _store.TriggerAsync("queueing", Scientist, CancellationToken.None);
        var waiting = (await _store.TriggerAsync("queueing", Scientist, CancellationToken.None))!;

        await _store.DeleteAsync("queueing", Scientist, CancellationToken.None);

        var cancelled = (await _store.GetRunAsync(waiting.Id, CancellationToken.None))!;
        Assert.Equal((PipelineRunStatuses.Cancelled, "the pipeline was deleted"), (cancelled.Status, cancelled.Reason));
        Assert.Single(cancelled.Steps, step => step.Step == PipelineRunStatuses.Cancelled);
    }

    [Fact]
    public async Task ADisabledPipelineMovesItsScheduleOnWithoutRunningAndADeletedOneStartsNothing()
    {
        await SaveAsync("paused", Hourly() with { Enabled = false });
        await SaveAsync("gone", Hourly());
        await _store.DeleteAsync("gone", Scientist, CancellationToken.None);
        _clock.SetUtcNow(DateTimeOffset.Parse("2026-11-29T11:00:01Z", CultureInfo.InvariantCulture));

        Assert.Empty(await _store.TriggerDueAsync(_clock.GetUtcNow(), CancellationToken.None));
        Assert.Equal(DateTimeOffset.Parse("2026-11-29T12:00:00Z", CultureInfo.InvariantCulture),
            (await _store.GetAsync("paused", CancellationToken.None))!.NextTickAt);
        Assert.Null(await _store.GetAsync("gone", CancellationToken.None));
        Assert.Null(await _store.TriggerAsync("gone", Scientist, CancellationToken.None));
    }

    [Fact]
    public async Task ARunsStepsAreLeasedToOneReplicaAndItsEndIsAuditedUnderThePipelinesIdentity()
    {
        await SaveAsync("nightly", Hourly());
        var run = (await _store.TriggerAsync("nightly", Scientist, CancellationToken.None))!;

        Assert.True(await _store.TryLeaseRunAsync(run.Id, "a", Start.AddMinutes(1), CancellationToken.None));
        Assert.False(await _otherReplica.TryLeaseRunAsync(run.Id, "b", Start.AddMinutes(1), CancellationToken.None));
        var jobId = Guid.CreateVersion7();
        await _store.AdvanceAsync(run, new RunChange(PipelineRunStatuses.Training, "training", "job queued", JobId: jobId), CancellationToken.None);
        await _store.ReleaseRunAsync(run.Id, "a", CancellationToken.None);
        Assert.True(await _otherReplica.TryLeaseRunAsync(run.Id, "b", Start.AddMinutes(1), CancellationToken.None));
        _clock.Advance(TimeSpan.FromMinutes(2));
        var training = (await _store.GetRunAsync(run.Id, CancellationToken.None))!;
        await _store.AdvanceAsync(training, new RunChange(PipelineRunStatuses.Gating, "trained", "registered iris v2", CandidateVersion: 2),
            CancellationToken.None);
        var gating = (await _store.GetRunAsync(run.Id, CancellationToken.None))!;
        var verdict = new GateVerdict(true, "macroAccuracy", 0.97, 0.95, 0.02, 0, 30, [], "better");
        await _store.AdvanceAsync(gating, new RunChange(PipelineRunStatuses.Promoted, "promoted", "production moved to v2", BaselineVersion: 1,
            Gate: verdict, ReachedProduction: true), CancellationToken.None);

        var promoted = (await _store.GetRunAsync(run.Id, CancellationToken.None))!;
        Assert.Equal((PipelineRunStatuses.Promoted, jobId, 2, 1), (promoted.Status, promoted.JobId, promoted.CandidateVersion, promoted.BaselineVersion));
        Assert.Equal(verdict.Reason, promoted.Gate!.Reason);
        Assert.Equal(120, promoted.SecondsToProduction);
        Assert.Equal(["triggered", "training", "trained", "promoted"], promoted.Steps.Select(step => step.Step));
        var trail = await AuditLog.QueryAsync(_database, actor: "pipeline:nightly", resource: "pipelines/nightly", action: null,
            from: null, to: null, before: null, limit: 10, CancellationToken.None);
        Assert.Equal("pipeline-run.promoted", Assert.Single(trail.Records).Action);
        Assert.Equal([run.Id], (await _store.ListRunsAsync("nightly", 10, CancellationToken.None)).Select(listed => listed.Id));
    }

    /// <summary>A run of <c>nightly</c> taken as far as its gate, its candidate v4 and production's version v3.</summary>
    private async Task<PipelineRun> GatingRunAsync()
    {
        await SaveAsync("nightly", Hourly());
        var run = (await _store.TriggerAsync("nightly", Scientist, CancellationToken.None))!;
        run = await AdvanceAsync(run, new RunChange(PipelineRunStatuses.Training, "training", "job queued", JobId: Guid.CreateVersion7()));
        return await AdvanceAsync(run, new RunChange(PipelineRunStatuses.Gating, "trained", "registered iris v4", CandidateVersion: 4));
    }

    private async Task<PipelineRun> AdvanceAsync(PipelineRun run, RunChange change)
    {
        Assert.True(await _store.AdvanceAsync(run, change, CancellationToken.None));
        return (await _store.GetRunAsync(run.Id, CancellationToken.None))!;
    }

    private static LiveTraffic Traffic(long requests, long rows, double seconds)
    {
        var latency = new long[LiveTraffic.LatencyBounds.Count + 1];
        latency[LiveTraffic.LatencyBucket(seconds)] = requests;
        return new LiveTraffic(requests, requests / 10, rows, latency);
    }

    private static RolloutState Canary(DateTimeOffset since) => new(
        PipelineRunStatuses.Canary, 4, 3, new SetAliasRequest(3, new CanaryRoute(4, 10), 3), since, Traffic(40, 400, 0.02), Traffic(900, 9_000, 0.01),
        new ShadowComparison(4, 3, 400, 380, 0.95, 0.01));

    private LiveObservation Look(double agreement) => new(
        _clock.GetUtcNow(), 60, new LiveFigures(50, 1, 500, 0.02, 0.025), new LiveFigures(450, 2, 4_500, 0.0044, 0.0125), 500, agreement, null,
        [new LiveCheck("agreement", "check", agreement, 0.9, agreement >= 0.9)]);

    [Fact]
    public async Task ARunAdvancedWithARolloutReadsBackWithIt()
    {
        var gating = await GatingRunAsync();
        var state = Canary(_clock.GetUtcNow());

        await AdvanceAsync(gating, new RunChange(PipelineRunStatuses.Canary, "canary", "10% of production to v4", Rollout: state));

        var read = (await _store.GetRunAsync(gating.Id, CancellationToken.None))!.Rollout!;
        Assert.Equal((PipelineRunStatuses.Canary, 4, (int?)3, state.Route, state.Since), (read.Phase, read.Candidate, read.Control, read.Route, read.Since));
        Assert.Equal((40L, 4L, 400L), (read.CandidateAtStart.Requests, read.CandidateAtStart.Errors, read.CandidateAtStart.Rows));
        Assert.Equal(state.CandidateAtStart.Latency, read.CandidateAtStart.Latency);
        Assert.Equal(state.ControlAtStart!.Latency, read.ControlAtStart!.Latency);
        Assert.Equal(state.ShadowAtStart, read.ShadowAtStart);
        Assert.Null(read.Latest);
        Assert.Null((await _store.GetRunAsync(gating.Id, CancellationToken.None))!.SecondsToProduction);
    }

    [Fact]
    public async Task AnObservationUpdatesTheRolloutsLatestLookWithoutAStepAndNothingOnceTheRunMovedOn()
    {
        var canary = await AdvanceAsync(await GatingRunAsync(),
            new RunChange(PipelineRunStatuses.Canary, "canary", "10% of production to v4", Rollout: Canary(_clock.GetUtcNow())));
        _clock.Advance(TimeSpan.FromMinutes(1));

        await _store.ObserveAsync(canary, canary.Rollout! with { Latest = Look(0.96) }, CancellationToken.None);
        var observed = (await _store.GetRunAsync(canary.Id, CancellationToken.None))!;
        // Rolled back by one replica while another still looks at the canary it read before.
        var rolledBack = await AdvanceAsync(observed, new RunChange(PipelineRunStatuses.RolledBack, "rolled back", "rolled back to v3: alarm errorRate",
            Reason: "rolled back to v3: alarm errorRate"));
        _clock.Advance(TimeSpan.FromMinutes(1));
        await _otherReplica.ObserveAsync(canary, canary.Rollout! with { Latest = Look(0.5) }, CancellationToken.None);

        var latest = observed.Rollout!.Latest!;
        Assert.Equal((Start.AddMinutes(1), 60.0, (double?)0.96, 500L), (latest.At, latest.Seconds, latest.Agreement, latest.ShadowRows));
        Assert.Equal((50L, 0.025), (latest.Candidate.Requests, latest.Candidate.P99Seconds));
        Assert.Equal(new LiveCheck("agreement", "check", 0.96, 0.9, true), Assert.Single(latest.Checks));
        Assert.Equal(canary.Steps.Select(step => step.Step), observed.Steps.Select(step => step.Step));
        var final = (await _store.GetRunAsync(canary.Id, CancellationToken.None))!;
        Assert.Equal((PipelineRunStatuses.RolledBack, (double?)0.96), (final.Status, final.Rollout!.Latest!.Agreement));
        Assert.Equal(rolledBack.Steps.Count, final.Steps.Count);
    }

    [Fact]
    public async Task ACandidateThatReachesProductionAgainKeepsItsFirstTimeToProduction()
    {
        var gating = await GatingRunAsync();
        _clock.Advance(TimeSpan.FromMinutes(2));
        var watching = await AdvanceAsync(gating, new RunChange(PipelineRunStatuses.Watching, "promoted", "production moved from v3 to v4",
            Rollout: Canary(_clock.GetUtcNow()) with { Phase = PipelineRunStatuses.Watching }, ReachedProduction: true));
        _clock.Advance(TimeSpan.FromMinutes(10));

        var promoted = await AdvanceAsync(watching, new RunChange(PipelineRunStatuses.Promoted, "watched", "watched 600 s: no alarm", ReachedProduction: true));

        Assert.Equal(((double?)120, (double?)120), (watching.SecondsToProduction, promoted.SecondsToProduction));
        Assert.Equal(PipelineRunStatuses.Watching, promoted.Rollout!.Phase);
    }

    [Fact]
    public async Task RunsInTheirCanaryOrWatchAreListedAmongTheRunsWithANextStep()
    {
        // The scheduler takes only the listed runs further: a canary left out would soak at its share of production for ever.
        var canary = await AdvanceAsync(await GatingRunAsync(),
            new RunChange(PipelineRunStatuses.Canary, "canary", "10% of production to v4", Rollout: Canary(_clock.GetUtcNow())));
        await SaveAsync("weekly", Hourly());
        var weekly = (await _store.TriggerAsync("weekly", Scientist, CancellationToken.None))!;
        weekly = await AdvanceAsync(weekly, new RunChange(PipelineRunStatuses.Training, "training", "job queued", JobId: Guid.CreateVersion7()));
        weekly = await AdvanceAsync(weekly, new RunChange(PipelineRunStatuses.Gating, "trained", "registered iris v5", CandidateVersion: 5));
        var watching = await AdvanceAsync(weekly, new RunChange(PipelineRunStatuses.Watching, "promoted", "production moved from v3 to v5",
            Rollout: Canary(_clock.GetUtcNow()) with { Phase = PipelineRunStatuses.Watching }, ReachedProduction: true));

        var active = await _store.ListActiveRunsAsync(CancellationToken.None);

        Assert.Equal(new[] { canary.Id, watching.Id }.Order(), active.Select(run => run.Id).Order());
    }

    [Fact]
    public async Task OneVersionOfAPipelineIsReadByItsNumberAndAnUnknownOneIsNull()
    {
        await SaveAsync("nightly", Hourly());
        await SaveAsync("nightly", Hourly(PipelineValidation.Queue));

        var first = await _store.GetVersionAsync("nightly", 1, CancellationToken.None);
        var second = await _store.GetVersionAsync("nightly", 2, CancellationToken.None);

        Assert.Equal(("nightly", 1, (string?)null), (first!.Name, first.Version, first.Definition.Concurrency));
        Assert.Equal(("nightly", 2, PipelineValidation.Queue), (second!.Name, second.Version, second.Definition.Concurrency));
        Assert.Null(await _store.GetVersionAsync("nightly", 3, CancellationToken.None));
        Assert.Null(await _store.GetVersionAsync("weekly", 1, CancellationToken.None));
    }

    public void Dispose()
    {
        _testDatabase.Dispose();
        GC.SuppressFinalize(this);
    }
}

public sealed class PipelineStoreOnSqliteTests() : PipelineStoreTests(new SqliteTestDatabase());

[Collection(nameof(PostgresServer))]
public sealed class PipelineStoreOnPostgresTests(PostgresServer server) : PipelineStoreTests(new PostgresTestDatabase(server));
