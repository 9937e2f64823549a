using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ModelPlatform.Contracts;
using ModelPlatform.Feature.Datasets;
using ModelPlatform.Feature.Definitions;
using ModelPlatform.Features;
using ModelPlatform.Storage;
using ModelPlatform.TestSupport;

namespace ModelPlatform.Feature.Tests;

/// <summary>Definitions change by versions, checked against their dataset and against what depends on them. Run on each engine.</summary>
public abstract class DefinitionStoreTests : IDisposable
{
    private static readonly EntityDefinition Customer = new("customer", [new JoinKey("customer_id", ColumnType.Numeric)]);

    private static readonly FeatureViewDefinition Activity = new(
        "activity", "customer", "activity", "event_time", [new FeatureField("spend"), new FeatureField("plan")], TtlSeconds: 86_400);

    private readonly ITestDatabase _testDatabase;
    private readonly ServiceDatabase _database;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly DatasetStore _datasets;
    private readonly DefinitionStore _store;

    protected DefinitionStoreTests(ITestDatabase testDatabase)
    {
        _testDatabase = testDatabase;
        _database = testDatabase.Open(DatasetStore.Migrations);
        var blobs = new BlobStore(_database, _clock);
        _datasets = new DatasetStore(_database, new DatasetFiles(blobs, _database, Options.Create(new FeatureOptions())), blobs, _clock);
        _store = new DefinitionStore(_database, _clock);
    }

    [Fact]
    public async Task AnEqualDefinitionKeepsItsVersionAndAChangedOneAddsAVersionWithAnAuditRecord()
    {
        var first = await PutEntityAsync(Customer);
        var again = await PutEntityAsync(Customer);
        var changed = await PutEntityAsync(Customer with { Description = "people who buy" });

        Assert.Equal((1, true), (first.Stored!.Version, first.Changed));
        Assert.Equal((1, false), (again.Stored!.Version, again.Changed));
        Assert.Equal((2, true), (changed.Stored!.Version, changed.Changed));
        var versions = await _store.GetVersionsAsync(DefinitionKind<EntityDefinition>.Entity, "customer", CancellationToken.None);
        Assert.Equal([1, 2], versions.Select(v => v.Version));
        Assert.Null((await _store.GetAsync(DefinitionKind<EntityDefinition>.Entity, "customer", 1, CancellationToken.None))!.Definition.Description);
        await using var connection = await _database.OpenAsync(CancellationToken.None);
        Assert.Equal(2, await connection.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM audit WHERE resource = 'entities/customer'"));
    }

    [Theory]
    [InlineData("[]", "joinKeys")]
    [InlineData("""[{"name":"id","type":"text"}]""", "joinKeys[0].type")]
    [InlineData("""[{"name":"","type":"numeric"}]""", "joinKeys[0].name")]
    [InlineData("""[{"name":"id","type":"numeric"},{"name":"id","type":"numeric"}]""", "joinKeys")]
    public void AnEntityNeedsDistinctNamedKeysOfAKeyType(string keys, string field)
    {
        var entity = JsonSerializer.Deserialize<EntityDefinition>($$"""{"name":"e","joinKeys":{{keys}}}""", JsonSerializerOptions.Web)!;

        Assert.Contains(field, DefinitionChecks.Entity(entity).Keys);
    }

    [Fact]
    public async Task AViewTakesItsFeatureTypesFromItsDatasetAndNamesEveryColumnItCannotRead()
    {
        await PutEntityAsync(Customer);
        await UploadAsync("activity", "customer_id,event_time,spend,plan\n1,2025-01-01T00:00:00Z,10.5,basic\n");
        await UploadAsync("broken", "customer_id,event_time,spend\nc1,2025-01-01T00:00:00Z,10.5\n");

        var view = await PutViewAsync(Activity);
        var broken = await PutViewAsync(Activity with { Name = "broken", Dataset = "broken" });
        var unknownEntity = await PutViewAsync(Activity with { Name = "orphan", Entity = "nobody" });

        Assert.Equal([ColumnType.Numeric, ColumnType.Categorical], view.Stored!.Definition.Features.Select(feature => feature.Type));
        Assert.Equal(["columns.customer_id", "columns.plan"], broken.Problems.Invalid.Keys.Order());
        Assert.Contains("as numeric, but it is categorical", broken.Problems.Invalid["columns.customer_id"].Single());
        Assert.Contains("missing", broken.Problems.Invalid["columns.plan"].Single());
        Assert.Equal(["entity"], unknownEntity.Problems.Invalid.Keys);
        Assert.Null(await _store.GetAsync(DefinitionKind<FeatureViewDefinition>.FeatureView, "broken", null, CancellationToken.None));
    }

    [Theory]
    [InlineData(false, 3600L, "only an online view")]
    [InlineData(true, 59L, "must be from 60 seconds")]
    [InlineData(true, 400L * 86_400, "(a year)")]
    public async Task AScheduleIsRefusedNamingItsFieldUnlessTheViewIsOnlineAndTheIntervalSensible(bool online, long every, string message)
    {
        await PutEntityAsync(Customer);
        await UploadAsync("activity", "customer_id,event_time,spend,plan\n1,2025-01-01T00:00:00Z,10.5,basic\n");

        var refused = await PutViewAsync(Activity with { Online = online, MaterializeEverySeconds = every });
        var hourly = await PutViewAsync(Activity with { MaterializeEverySeconds = 3600 });

        Assert.Equal(["materializeEverySeconds"], refused.Problems.Invalid.Keys);
        Assert.Contains(message, Assert.Single(refused.Problems.Invalid["materializeEverySeconds"]));
        Assert.Equal((1, TimeSpan.FromHours(1)), (hourly.Stored!.Version, hourly.Stored.Definition.MaterializeEvery));
    }

    [Fact]
    public async Task AChangeThatBreaksADependentIsRefusedWithTheDependentsNamed()
    {
        await PutEntityAsync(Customer);
        await UploadAsync("activity", "customer_id,event_time,spend,plan\n1,2025-01-01T00:00:00Z,10.5,basic\n");
        await PutViewAsync(Activity);
        var service = await _store.PutAsync(
            DefinitionKind<FeatureServiceDefinition>.FeatureService, "churn",
            DefinitionChecks.PrepareService(new FeatureServiceDefinition("churn", ["activity:spend"]), []), AuditActor.Platform, CancellationToken.None);
        Assert.True(service.Changed);

        var dropsSpend = await PutViewAsync(Activity with { Features = [new FeatureField("plan")] });
        var dropsPlan = await PutViewAsync(Activity with { Features = [new FeatureField("spend")] });
        var rekeyed = await PutEntityAsync(Customer with { JoinKeys = [new JoinKey("customer_id", ColumnType.Categorical)] });

        Assert.Contains("Feature service 'churn' uses activity:spend", Assert.Single(dropsSpend.Problems.Breaks));
        Assert.True(dropsPlan.Changed);
        Assert.Contains("activity", Assert.Single(rekeyed.Problems.Breaks));
        Assert.Equal(1, (await _store.GetAsync(DefinitionKind<EntityDefinition>.Entity, "customer", null, CancellationToken.None))!.Version);
    }

    [Fact]
    public async Task AChangeThatBreaksAModelInTheRegistryIsRefusedWithTheModelsNamed()
    {
        await PutEntityAsync(Customer);
        await UploadAsync("activity", "customer_id,account_id,event_time,spend,plan\n1,7,2025-01-01T00:00:00Z,10.5,basic\n");
        await PutViewAsync(Activity);
        IReadOnlyList<ModelVersionInfo> models = [ModelUsing("churn", 1, "spend"), ModelUsing("churn", 2, "spend", "plan")];
        Assert.True((await PutServiceAsync(new FeatureServiceDefinition("churn", ["activity:spend", "activity:plan"]), models)).Changed);

        var serviceDropsPlan = await PutServiceAsync(new FeatureServiceDefinition("churn", ["activity:spend"]), models);
        var viewDropsSpend = await PutViewAsync(Activity with { Features = [new FeatureField("plan")] }, models);
        await PutEntityAsync(new EntityDefinition("account", [new JoinKey("account_id", ColumnType.Numeric)]));
        var viewRekeyed = await PutViewAsync(Activity with { Entity = "account" }, models);
        var viewAddsNothingUsed = await PutViewAsync(Activity with { TtlSeconds = 3_600 }, models);

        Assert.Contains("Model 'churn' v2 was trained on activity:plan", Assert.Single(serviceDropsPlan.Problems.Breaks));
        Assert.Equal(
            [.. models.Select(model => $"Model 'churn' v{model.Version} reads activity:spend, which this change removes or retypes.")],
            viewDropsSpend.Problems.Breaks.Where(problem => problem.StartsWith("Model", StringComparison.Ordinal)));
        Assert.Equal(
            [.. models.Select(model => $"Model 'churn' v{model.Version} finds activity's features by customer_id, but this change finds them by account_id.")],
            viewRekeyed.Problems.Breaks);
        Assert.True(viewAddsNothingUsed.Changed);
        Assert.Equal(1, (await _store.GetAsync(DefinitionKind<FeatureServiceDefinition>.FeatureService, "churn", null, default))!.Version);
    }

    [Theory]
    [InlineData("activity", "features[0]", "is not view:feature")]
    [InlineData("nowhere:spend", "features[0]", "no feature view 'nowhere'")]
    [InlineData("activity:height", "features[0]", "has no feature 'height'")]
    public async Task AFeatureServiceNamesOnlyFeaturesItsViewsHave(string reference, string field, string message)
    {
        await PutEntityAsync(Customer);
        await PutViewAsync(Activity with { Features = [new FeatureField("spend", ColumnType.Numeric)] });

        var problems = await InTransactionAsync(reader => DefinitionChecks.ServiceAsync(new FeatureServiceDefinition("s", [reference]), reader));

        Assert.Contains(message, Assert.Single(problems[field]));
    }

    [Fact]
    public async Task AnAppendMustKeepEveryColumnTheViewsOfItsDatasetRead()
    {
        await PutEntityAsync(Customer);
        await UploadAsync("activity", "customer_id,event_time,spend,plan\n1,2025-01-01T00:00:00Z,10.5,basic\n");
        await PutViewAsync(Activity);

        var kept = await _store.AppendProblemsAsync("activity", Columns("customer_id,event_time,spend,plan,extra\n1,2025-01-02T00:00:00Z,3,pro,x\n"), default);
        var broken = await _store.AppendProblemsAsync("activity", Columns("customer_id,event_time,spend\n1,yesterday,3\n"), default);
        var unread = await _store.AppendProblemsAsync("elsewhere", Columns("x\n1\n"), default);

        Assert.Empty(kept);
        Assert.Equal(["columns.event_time", "columns.plan"], broken.Keys.Order());
        Assert.Empty(unread);
    }

    [Fact]
    public async Task ServingLookupsTrustADefinitionBrieflyAndSeeThisReplicasChangesAtOnce()
    {
        var entity = DefinitionKind<EntityDefinition>.Entity;
        var otherReplica = new DefinitionStore(_database, _clock);
        var unknown = await _store.GetServingAsync(entity, "customer", default);

        await PutEntityAsync(Customer);
        var created = await _store.GetServingAsync(entity, "customer", default);
        await otherReplica.PutAsync(entity, "customer", DefinitionChecks.PrepareEntity(Customer with { Description = "buyers" }), AuditActor.Platform, default);
        var beforeExpiry = await _store.GetServingAsync(entity, "customer", default);
        _clock.Advance(DefinitionStore.ServingCacheTime);
        var afterExpiry = await _store.GetServingAsync(entity, "customer", default);

        Assert.Null(unknown);
        Assert.Equal(1, created!.Version);
        Assert.Equal(1, beforeExpiry!.Version);
        Assert.Equal(2, afterExpiry!.Version);
    }

    private Task<PutResult<EntityDefinition>> PutEntityAsync(EntityDefinition entity) =>
        _store.PutAsync(DefinitionKind<EntityDefinition>.Entity, entity.Name, DefinitionChecks.PrepareEntity(entity), AuditActor.Platform, default);

    private async Task<PutResult<FeatureViewDefinition>> PutViewAsync(FeatureViewDefinition view, IReadOnlyList<ModelVersionInfo>? models = null) =>
        await _store.PutAsync(
            DefinitionKind<FeatureViewDefinition>.FeatureView, view.Name,
            DefinitionChecks.PrepareView(view, await _datasets.GetVersionAsync(view.Dataset, null, default), models ?? []), AuditActor.Platform, default);

    private Task<PutResult<FeatureServiceDefinition>> PutServiceAsync(FeatureServiceDefinition service, IReadOnlyList<ModelVersionInfo> models) =>
        _store.PutAsync(
            DefinitionKind<FeatureServiceDefinition>.FeatureService, service.Name, DefinitionChecks.PrepareService(service, models),
            AuditActor.Platform, default);

    /// <summary>A registry version trained on <paramref name="features"/> of the activity view through the churn service.</summary>
    private static ModelVersionInfo ModelUsing(string model, int version, params string[] features) =>
        new(model, version, "00", 1, new ModelSignature(MLTask.Binary, [], new ColumnSchema("churned", ColumnType.Boolean), ["False", "True"]),
            new Dictionary<string, double>(),
            new ModelLineage("churn-training", 1, null, "FastTree", new TrainingSetLineage("churn", 1, "customers", 1, "at",
                [new ViewLineage("activity", 1, "activity", [1], ["customer_id"], 86_400, [.. features.Select(f => new FeatureColumn(f, $"activity__{f}"))])])),
            [], DateTimeOffset.UnixEpoch);

    private async Task<T> InTransactionAsync<T>(Func<DefinitionStore.DefinitionReader, Task<T>> read)
    {
        await using var connection = await _database.OpenAsync(CancellationToken.None);
        return await read(new DefinitionStore.DefinitionReader(connection, null, CancellationToken.None));
    }

    private async Task UploadAsync(string name, string csv) =>
        await _datasets.AddVersionAsync(name, await Parse(csv), "00", AuditActor.Platform, CancellationToken.None);

    private static IReadOnlyList<ColumnSchema> Columns(string csv) => Parse(csv).GetAwaiter().GetResult().Columns;

    private static Task<ParsedDataset> Parse(string csv) => CsvDatasetReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(csv)), CancellationToken.None);

    public void Dispose() => _testDatabase.Dispose();
}

public sealed class DefinitionStoreOnSqliteTests() : DefinitionStoreTests(new SqliteTestDatabase());

[Collection(nameof(PostgresServer))]
public sealed class DefinitionStoreOnPostgresTests(PostgresServer server) : DefinitionStoreTests(new PostgresTestDatabase(server));
