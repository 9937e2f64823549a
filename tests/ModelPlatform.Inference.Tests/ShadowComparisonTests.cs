using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using ModelPlatform.Contracts;
using ModelPlatform.Inference.Serving;

namespace ModelPlatform.Inference.Tests;

public class ShadowComparisonTests
{
    [Fact]
    public void ClassifiersAgreeOnTheLabelAndDifferByProbability()
    {
        Prediction[] answered = [new("yes", 0.9f), new("no", 0.2f), new("yes", 0.6f), new("no", 0.1f)];
        Prediction[] shadow = [new("yes", 0.8f), new("yes", 0.7f), new("yes", 0.6f), new("no", 0.4f)];

        var (agreed, difference) = ShadowTraffic.Compare(answered, shadow);

        Assert.Equal(3, agreed);
        Assert.Equal(0.1 + 0.5 + 0 + 0.3, difference, 1e-6);
    }

    [Fact]
    public void ALabelReadBackFromTheCacheAgreesWithTheSameLabel()
    {
        // The prediction cache stores answers as JSON: their labels come back as JsonElements.
        Prediction[] cached = [.. new Prediction[] { new("yes", 0.9f), new(1L, 0.7f), new(true, 0.6f), new("no", 0.1f) }
            .Select(prediction =>
                JsonSerializer.Deserialize<Prediction>(JsonSerializer.Serialize(prediction, JsonSerializerOptions.Web), JsonSerializerOptions.Web)!)];
        Prediction[] shadow = [new("yes", 0.9f), new(1L, 0.7f), new(true, 0.6f), new("yes", 0.1f)];

        var (agreed, difference) = ShadowTraffic.Compare(cached, shadow);

        Assert.IsType<JsonElement>(cached[0].Label);
        Assert.Equal(3, agreed);
        Assert.Equal(0, difference, 1e-9);
    }

    [Fact]
    public void MulticlassAnswersAreComparedByLabel()
    {
        var scores = new Dictionary<string, float> { ["setosa"] = 0.5f, ["virginica"] = 0.5f };
        Prediction[] answered = [new("setosa", Scores: scores), new("virginica", Scores: scores)];
        Prediction[] shadow = [new("setosa", Scores: scores), new("setosa", Scores: scores)];

        var (agreed, _) = ShadowTraffic.Compare(answered, shadow);

        Assert.Equal(1, agreed);
    }

    [Fact]
    public void RegressionValuesAgreeWithinAMillionthAndDifferByTheirDistance()
    {
        Prediction[] answered = [new(Value: 10f), new(Value: 20f), new(Value: 1_000_000f), new(Value: 0f)];
        Prediction[] shadow = [new(Value: 10f), new(Value: 20.5f), new(Value: 1_000_000.5f), new(Value: -0.25f)];

        var (agreed, difference) = ShadowTraffic.Compare(answered, shadow);

        // 0.5 off 1,000,000 is within a millionth of it; 0.5 off 20 and 0.25 off 0 are not.
        Assert.Equal(2, agreed);
        Assert.Equal(0 + 0.5 + 0.5 + 0.25, difference, 1e-9);
    }

    [Fact]
    public void NoRowsMeansNothingToCompare()
    {
        Assert.Equal((0, 0.0), ShadowTraffic.Compare([], []));
    }

    [Fact]
    public async Task EveryStateAnotherReplicaCanReadCountsWholeCopies()
    {
        // A copy of 150 rows on which the shadow agrees with every answer, added twice.
        var redis = new FakeRedis();
        var totals = new ShadowTotals(new RedisCache(redis.Connection(), TimeProvider.System, NullLogger<RedisCache>.Instance));

        await totals.AddAsync("iris", answered: 1, shadow: 2, rows: 150, agreed: 150, absoluteDifference: 0);
        await totals.AddAsync("iris", answered: 1, shadow: 2, rows: 150, agreed: 150, absoluteDifference: 0);

        // A reader between two commands of one copy would see its rows without its agreements: agreement 0.5 for two copies.
        Assert.NotEmpty(redis.ObservableStates);
        Assert.All(redis.ObservableStates, state =>
        {
            var pair = state.GetValueOrDefault("modelplatform:inference:shadow:iris:1:2") ?? [];
            Assert.True(pair.GetValueOrDefault("rows") == pair.GetValueOrDefault("agreed"),
                $"A reader could see {pair.GetValueOrDefault("rows")} rows compared but {pair.GetValueOrDefault("agreed")} agreed.");
        });
        var comparison = Assert.Single((await totals.ReadAsync("iris"))!);
        Assert.Equal(new ShadowComparison(1, 2, 300, 300, 1.0, 0), comparison);
    }
}
