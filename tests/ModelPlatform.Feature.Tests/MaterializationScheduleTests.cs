using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ModelPlatform.Contracts;
using ModelPlatform.Feature.Datasets;
using ModelPlatform.Feature.Definitions;
using ModelPlatform.Feature.Online;
using ModelPlatform.Features;
using ModelPlatform.Features.Online;
using ModelPlatform.Storage;
using ModelPlatform.TestSupport;
using StackExchange.Redis;

namespace ModelPlatform.Feature.Tests;

/// <summary>
/// Scheduled materialization with two replicas of the feature service (each its own stores and scheduler) over one
/// database and one Redis, as the scale-out runs them, on a clock the tests move. Run on each engine.
/// </summary>
public abstract class MaterializationScheduleTests : IDisposable
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    private readonly ITestDatabase _testDatabase;
    private readonly ConnectionMultiplexer _redis;
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly FakeLogger<MaterializationScheduler> _logger = new();
    private readonly FeatureOptions _options = new();
    private readonly Replica _first;
    private readonly Replica _second;

    // The tests of a class share a Redis server: each test's views have names of their own.
    private readonly string _prefix = $"t{Guid.NewGuid():N}"[..9];

    protected MaterializationScheduleTests(ITestDatabase testDatabase, RedisServer redis)
    {
        _testDatabase = testDatabase;
        _redis = ConnectionMultiplexer.Connect(redis.ConnectionString);
        _first = NewReplica();
        _second = NewReplica();
    }

    [Fact]
    public async Task ADueViewIsMaterializedOnceThoughTwoReplicasCheckAtOnce()
    {
        // Arrange: an hourly view over two customers' spend.
        var view = await DefineAsync("spend", $"customer_id,event_time,spend\n1,{Ago(Hour)},5\n2,{Ago(Hour)},7\n", every: Hour);

        // Act: both replicas check at once; and again an hour later, after an append.
        var first = await BothCheckAsync();
        _clock.Advance(Hour);
        await AppendAsync(view, $"customer_id,event_time,spend\n1,{Ago(TimeSpan.FromMinutes(1))},6\n");
        var second = await BothCheckAsync();

        // Assert: one replica ran the view each time, the second window starting where the first ended; the latest values are served.
        Assert.Equal((1, 1), (first, second));
        var runs = await RunsAsync(view);
        Assert.Equal([(1, true), (2, true)], runs.Select(run => (run.Written, run.Scheduled)));
        Assert.Equal(runs[1].End, runs[0].Start);
        Assert.Equal<object?>([6.0, 7.0], await ReadSpendAsync(view, 1, 2));
    }

    [Fact]
    public async Task AReplicaThatStoppedMidRunHoldsItsViewUntilItsLeaseRunsOut()
    {
        var view = await DefineAsync("spend", $"customer_id,event_time,spend\n1,{Ago(Hour)},5\n", every: Hour);
        var lease = TimeSpan.FromSeconds(_options.MaterializationLeaseSeconds);
        Assert.True(await _first.Leases.TryClaimAsync(view, Hour, "a replica that stops", lease, CancellationToken.None));

        var whileHeld = await _second.Scheduler.RunDueAsync(CancellationToken.None);
        _clock.Advance(lease);
        var afterLease = await _second.Scheduler.RunDueAsync(CancellationToken.None);

        Assert.Equal((0, 1), (whileHeld, afterLease));
        Assert.Equal<object?>([5.0], await ReadSpendAsync(view, 1));
    }

    [Fact]
    public async Task AViewIsMaterializedOnlyOnceItsIntervalHasPassedSinceItsLastWindowEnded()
    {
        // Arrange: an hourly view materialized on demand now; a view without a schedule; one whose dataset has no version yet.
        var csv = $"customer_id,event_time,spend\n1,{Ago(Hour)},5\n";
        var hourly = await DefineAsync("hourly", csv, every: Hour);
        var onDemand = await DefineAsync("on-demand", csv, every: null);
        var noData = await DefineAsync("no-data", csv: null, every: TimeSpan.FromMinutes(1));
        await _first.Materialization.RunAsync(hourly, new MaterializeRequest(), AuditActor.Platform, scheduled: false, CancellationToken.None);

        // Act: a check a second before the hour is up, and one as it is.
        _clock.Advance(Hour - TimeSpan.FromSeconds(1));
        var early = await _first.Scheduler.RunDueAsync(CancellationToken.None);
        _clock.Advance(TimeSpan.FromSeconds(1));
        var onTime = await _first.Scheduler.RunDueAsync(CancellationToken.None);

        // Assert
        Assert.Equal((0, 1), (early, onTime));
        Assert.Equal([true, false], (await RunsAsync(hourly)).Select(run => run.Scheduled));
        Assert.Empty(await RunsAsync(onDemand));
        Assert.Empty(await RunsAsync(noData));
    }

    [Fact]
    public async Task AViewThatFailsIsLoggedCountedAndTriedAgainLaterWhileTheOthersRun()
    {
        // Arrange: a view whose dataset lost its feature column (an upload past the API's checks), listed before a sound view.
        var broken = await DefineAsync("a-broken", csv: null, every: Hour);
        await AppendAsync(broken, $"customer_id,event_time\n1,{Ago(Hour)}\n");
        var sound = await DefineAsync("b-sound", $"customer_id,event_time,spend\n1,{Ago(Hour)},5\n", every: Hour);
        using var counted = new MetricCollector<long>(
            _services.GetRequiredService<IMeterFactory>(), Materialization.TelemetryName,
            "modelplatform.feature.materialization.scheduled_runs");

        // Act: a check; one a minute later, on the other replica; and one after the retry delay.
        var first = await _first.Scheduler.RunDueAsync(CancellationToken.None);
        _clock.Advance(TimeSpan.FromMinutes(1));
        var soon = await _second.Scheduler.RunDueAsync(CancellationToken.None);
        _clock.Advance(MaterializationScheduler.MaxRetryDelay);
        var later = await _second.Scheduler.RunDueAsync(CancellationToken.None);

        // Assert: the sound view ran; the broken one failed, was held back until the delay was up, and failed again.
        Assert.Equal((1, 0, 0), (first, soon, later));
        Assert.Single(await RunsAsync(sound));
        Assert.Empty(await RunsAsync(broken));
        Assert.Equal([(broken, "failed"), (broken, "failed"), (sound, "succeeded")],
            counted.GetMeasurementSnapshot().Select(run => ((string)run.Tags["feature_view"]!, (string)run.Tags["outcome"]!)).Order());
        Assert.Equal(2, _logger.Collector.GetSnapshot().Count(log => log.Level == LogLevel.Error && log.Message.Contains(broken)));
    }

    [Fact]
    public async Task TheSchedulerChecksWhenItStartsAndAgainAsItsClockMovesOn()
    {
        var view = await DefineAsync("spend", $"customer_id,event_time,spend\n1,{Ago(Hour)},5\n", every: TimeSpan.FromMinutes(1));

        await _first.Scheduler.StartAsync(CancellationToken.None);
        await WaitForRunsAsync(view, 1);
        _clock.Advance(TimeSpan.FromMinutes(1));
        await WaitForRunsAsync(view, 2);
        await _first.Scheduler.StopAsync(CancellationToken.None);
    }

    private sealed record Replica(
        DatasetStore Datasets, DefinitionStore Definitions, Materialization Materialization, MaterializationLeases Leases,
        MaterializationScheduler Scheduler);

    /// <summary>A replica of the feature service: its own connections to the shared database, its stores, its scheduler.</summary>
    private Replica NewReplica()
    {
        var database = _testDatabase.Open(DatasetStore.Migrations);
        var blobs = new BlobStore(database, _clock);
        var files = new DatasetFiles(blobs, database, Options.Create(_options));
        var datasets = new DatasetStore(database, files, blobs, _clock);
        var definitions = new DefinitionStore(database, _clock);
        var materialization = new Materialization(definitions, datasets, files, new OnlineStore(_redis, _clock), database, _clock);
        var leases = new MaterializationLeases(database, _clock);
        var scheduler = new MaterializationScheduler(definitions, datasets, materialization, leases, Options.Create(_options),
            _clock, _services.GetRequiredService<IMeterFactory>(), _logger);
        return new Replica(datasets, definitions, materialization, leases, scheduler);
    }

    /// <summary>A view of spend by customer over a dataset of its own (with <paramref name="csv"/> as its first version, if any).</summary>
    private async Task<string> DefineAsync(string name, string? csv, TimeSpan? every)
    {
        var view = $"{_prefix}-{name}";
        if (csv is not null)
        {
            await AppendAsync(view, csv);
        }

        var customer = new EntityDefinition("customer", [new JoinKey("customer_id", ColumnType.Numeric)]);
        await _first.Definitions.PutAsync(
            DefinitionKind<EntityDefinition>.Entity, customer.Name, DefinitionChecks.PrepareEntity(customer), AuditActor.Platform, CancellationToken.None);
        var definition = new FeatureViewDefinition(
            view, customer.Name, view, "event_time", [new FeatureField("spend", ColumnType.Numeric)], MaterializeEverySeconds: (long?)every?.TotalSeconds);
        var stored = await _first.Definitions.PutAsync(
            DefinitionKind<FeatureViewDefinition>.FeatureView, view, DefinitionChecks.PrepareView(definition, null, []), AuditActor.Platform,
            CancellationToken.None);
        Assert.True(stored.Changed, string.Join("; ", stored.Problems.Invalid.SelectMany(problem => problem.Value)));
        return view;
    }

    private async Task AppendAsync(string dataset, string csv)
    {
        var parsed = await CsvDatasetReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(csv)), CancellationToken.None);
        await _first.Datasets.AddVersionAsync(dataset, parsed, "00", AuditActor.Platform, CancellationToken.None);
    }

    private string Ago(TimeSpan age) => (_clock.GetUtcNow() - age).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    /// <summary>Both replicas look for due views at the same moment; how many views they ran between them.</summary>
    private async Task<int> BothCheckAsync() => (await Task.WhenAll(
        Task.Run(() => _first.Scheduler.RunDueAsync(CancellationToken.None)),
        Task.Run(() => _second.Scheduler.RunDueAsync(CancellationToken.None)))).Sum();

    private Task<IReadOnlyList<MaterializationRun>> RunsAsync(string view) => _first.Materialization.ListAsync(view, 100, CancellationToken.None);

    private async Task WaitForRunsAsync(string view, int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while ((await RunsAsync(view)).Count < count)
        {
            await Task.Delay(20, timeout.Token);
        }
    }

    private async Task<IReadOnlyList<object?>> ReadSpendAsync(string view, params int[] customers)
    {
        var spend = new OnlineFeatureRequest(new OnlineView(view, ["customer_id"], TimeSpan.Zero), ["spend"]);
        var entities = customers.Select(id => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { ["customer_id"] = id }).ToList();
        return (await new OnlineStore(_redis, _clock).ReadAsync([spend], entities))[$"{view}:spend"].Values;
    }

    public void Dispose()
    {
        _first.Scheduler.Dispose();
        _second.Scheduler.Dispose();
        _redis.Dispose();
        _services.Dispose();
        _testDatabase.Dispose();
    }
}

public sealed class MaterializationScheduleOnSqliteTests(RedisServer redis)
    : MaterializationScheduleTests(new SqliteTestDatabase(), redis), IClassFixture<RedisServer>;

[Collection(nameof(PostgresServer))]
public sealed class MaterializationScheduleOnPostgresTests(PostgresServer server, RedisServer redis)
    : MaterializationScheduleTests(new PostgresTestDatabase(server), redis), IClassFixture<RedisServer>;
