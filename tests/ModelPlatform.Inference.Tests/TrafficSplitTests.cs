using ModelPlatform.Contracts;
using ModelPlatform.Inference.Serving;

namespace ModelPlatform.Inference.Tests;

public class TrafficSplitTests
{
    private static readonly string[] Keys = [.. Enumerable.Range(0, 10_000).Select(i => $"customer-{i}")];

    [Fact]
    public void WithoutACanaryEveryRequestGoesToTheMainVersion()
    {
        var route = new AliasRoute(3, Canary: null, Shadow: 4);

        var chosen = Keys.Take(500).Select(key => TrafficSplit.Choose(route, key))
            .Concat(Enumerable.Range(0, 500).Select(_ => TrafficSplit.Choose(route, null)));

        Assert.All(chosen, version => Assert.Equal(3, version));
    }

    [Fact]
    public void CanaryKeysStickToOneVersion()
    {
        var route = new AliasRoute(1, new CanaryRoute(2, 50));

        foreach (var key in Keys.Take(200))
        {
            var first = TrafficSplit.Choose(route, key);
            Assert.All(Enumerable.Range(0, 50), _ => Assert.Equal(first, TrafficSplit.Choose(route, key)));
        }
    }

    [Theory]
    [InlineData(10)]
    [InlineData(25)]
    [InlineData(50)]
    public void AboutPercentOfKeysGoToTheCanary(int percent)
    {
        var route = new AliasRoute(1, new CanaryRoute(2, percent));

        var share = 100.0 * Keys.Count(key => TrafficSplit.Choose(route, key) == 2) / Keys.Length;

        Assert.InRange(share, percent - 2, percent + 2);
    }

    [Fact]
    public void WithoutARoutingKeyAboutPercentOfRequestsGoToTheCanary()
    {
        var route = new AliasRoute(1, new CanaryRoute(2, 20));

        var share = 100.0 * Enumerable.Range(0, 10_000).Count(_ => TrafficSplit.Choose(route, null) == 2) / 10_000;

        Assert.InRange(share, 18, 22);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(100, 2)]
    public void ZeroAndHundredPercentSendEveryKeyToOneVersion(int percent, int expected)
    {
        var route = new AliasRoute(1, new CanaryRoute(2, percent));

        Assert.All(Keys, key => Assert.Equal(expected, TrafficSplit.Choose(route, key)));
    }

    [Fact]
    public void RaisingTheCanaryShareNeverMovesAKeyBackToTheMainVersion()
    {
        var at10 = new AliasRoute(1, new CanaryRoute(2, 10));
        var at30 = new AliasRoute(1, new CanaryRoute(2, 30));

        var onCanaryAt10 = Keys.Where(key => TrafficSplit.Choose(at10, key) == 2).ToList();
        var onCanaryAt30 = Keys.Where(key => TrafficSplit.Choose(at30, key) == 2).ToHashSet();

        Assert.NotEmpty(onCanaryAt10);
        Assert.All(onCanaryAt10, key => Assert.Contains(key, onCanaryAt30));
        Assert.True(onCanaryAt30.Count > onCanaryAt10.Count);
    }

    [Fact]
    public void BucketIsBetweenZeroAndNinetyNine()
    {
        var buckets = Keys.Select(TrafficSplit.Bucket).ToList();

        Assert.All(buckets, bucket => Assert.InRange(bucket, 0, 99));
        Assert.Equal(100, buckets.Distinct().Count());
    }

    [Fact]
    public void BucketOfAKnownKeyIsTheSameInEveryProcess()
    {
        // XxHash32 of the key's UTF-8 bytes, seed 0, mod 100. Unlike string.GetHashCode, it does not change between
        // processes, so every replica routes the key alike; a change here re-shuffles every sticky canary user.
        Assert.Equal(12, TrafficSplit.Bucket("customer-42"));
        Assert.Equal(12, TrafficSplit.Bucket(new string("customer-42".ToCharArray())));
    }
}
