using System.Text.Json;
using ModelPlatform.Contracts;
using ModelPlatform.Features.Online;
using ModelPlatform.Inference.Serving;
using ModelPlatform.TestSupport;

namespace ModelPlatform.Inference.Tests;

/// <summary>Reading an entity-key request against a real Redis: the request's checks, and the lineage's TTL.</summary>
public sealed class EntityFeaturesTests(RedisConnectionFixture redis) : IClassFixture<RedisConnectionFixture>
{
    private const int MaxEntities = 3;
    private static readonly TimeSpan Ttl = TimeSpan.FromDays(30);

    // A view of its own per test, so no test reads another's rows.
    private readonly string _view = $"activity_{Guid.NewGuid():N}"[..17];
    private readonly OnlineStore _online = new(redis.Redis, TimeProvider.System);

    private TrainingSetLineage Lineage => new("churn", 1, "labels", 1, "event_time",
        [new ViewLineage(_view, 1, _view, [1], ["customer_id"], (long)Ttl.TotalSeconds, [new FeatureColumn("spend", $"{_view}__spend")])]);

    private ColumnSchema[] Inputs => [new($"{_view}__spend", ColumnType.Numeric), new("amount", ColumnType.Numeric)];

    [Fact]
    public async Task AMissingJoinKeyIsNamedUnderEntities()
    {
        var (records, problems) = await ReadAsync("""{"amount": [1, 2]}""");

        Assert.Null(records);
        Assert.Equal(["entities.customer_id"], problems!.Keys);
        Assert.Contains("found by customer_id", problems["entities.customer_id"][0]);
    }

    [Fact]
    public async Task AMissingRequestTimeColumnIsNamedUnderEntities()
    {
        var (records, problems) = await ReadAsync("""{"customer_id": [1, 2]}""");

        Assert.Null(records);
        Assert.Equal(["entities.amount"], problems!.Keys);
        Assert.Contains("reads this numeric column from the request", problems["entities.amount"][0]);
    }

    [Fact]
    public async Task ListsOfDifferentLengthsAreRefused()
    {
        var (records, problems) = await ReadAsync("""{"customer_id": [1, 2, 3], "amount": [1, 2]}""");

        Assert.Null(records);
        Assert.Equal(["entities"], problems!.Keys);
        Assert.Contains("all of one length", problems["entities"][0]);
    }

    [Fact]
    public async Task MoreEntitiesThanAllowedAreRefused()
    {
        var (records, problems) = await ReadAsync("""{"customer_id": [1, 2, 3, 4], "amount": [1, 2, 3, 4]}""");

        Assert.Null(records);
        Assert.Equal($"has 4 entities; at most {MaxEntities} are allowed per request", Assert.Single(problems!["entities"]));
    }

    [Fact]
    public async Task AValuePastTheLineagesTtlIsMissingAsOutsideMaxAge()
    {
        // Arrange: customer 1's spend an hour old, customer 2's forty days old (past the 30-day TTL, so still in Redis).
        var view = new OnlineView(_view, ["customer_id"], Ttl);
        await _online.WriteAsync(view, [Row(1, 7.5, TimeSpan.FromHours(1)), Row(2, 9.5, TimeSpan.FromDays(40))]);

        // Act
        var (records, problems) = await ReadAsync("""{"customer_id": [1, 2], "amount": [3, 4]}""");

        // Assert: the fresh value is the model's input; the stale one is a missing value, named with its reason.
        Assert.Null(problems);
        using (records)
        {
            Assert.Equal(["""{"#__spend":7.5,"amount":3}""", """{"#__spend":null,"amount":4}"""],
                records!.Records.Select(record => record.GetRawText().Replace(_view, "#", StringComparison.Ordinal)));
            Assert.Empty(records.Missing[0]);
            Assert.Equal(FeatureStatus.OutsideMaxAge, Assert.Single(records.Missing[1], missing => missing.Key == $"{_view}:spend").Value);
        }
    }

    [Fact]
    public async Task RecordsCarryStoredValuesAndRequestColumnsAsTheyWouldBeSentInline()
    {
        // Arrange: a number, a number with no JSON form, and no row at all.
        var view = new OnlineView(_view, ["customer_id"], Ttl);
        await _online.WriteAsync(view, [Row(1, 1.25, TimeSpan.FromHours(1)), Row(2, double.NaN, TimeSpan.FromHours(1))]);

        // Act
        var (records, _) = await ReadAsync("""{"customer_id": [1, 2, 3], "amount": [3.5, null, "4"]}""");

        // Assert: NaN is written as null, the missing value the model would have read it as; the request's values go as sent.
        using (records)
        {
            Assert.Equal(["""{"#__spend":1.25,"amount":3.5}""", """{"#__spend":null,"amount":null}""", """{"#__spend":null,"amount":"4"}"""],
                records!.Records.Select(record => record.GetRawText().Replace(_view, "#", StringComparison.Ordinal)));
            Assert.Equal([0, 0, 1], records.Missing.Select(missing => missing.Count));
        }
    }

    private async Task<(EntityRecords? Records, Dictionary<string, string[]>? Problems)> ReadAsync(string entities)
    {
        using var request = JsonDocument.Parse(entities);
        return await new EntityFeatures(_online).ReadAsync(Lineage, Inputs, request.RootElement, MaxEntities, CancellationToken.None);
    }

    private static OnlineRow Row(int customer, double spend, TimeSpan age) =>
        new(new Dictionary<string, object?> { ["customer_id"] = customer }, new Dictionary<string, object?> { ["spend"] = spend },
            DateTimeOffset.UtcNow - age);
}
