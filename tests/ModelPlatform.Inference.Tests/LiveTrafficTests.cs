using ModelPlatform.Contracts;

namespace ModelPlatform.Inference.Tests;

/// <summary>The live traffic figures a version's canary checks and alarms read: buckets, quantiles, windows and error rates.</summary>
public class LiveTrafficTests
{
    private static readonly IReadOnlyList<double> Bounds = LiveTraffic.LatencyBounds;

    [Fact]
    public void TheBoundsGrowByAQuarterFromATenthOfAMillisecondToAboutAHundredSeconds()
    {
        Assert.Equal(0.0001, Bounds[0]);
        Assert.Equal(Bounds.Count + 1, LiveTraffic.None.Latency.Count);
        Assert.All(Enumerable.Range(1, Bounds.Count - 1), i => Assert.Equal(1.25, Bounds[i] / Bounds[i - 1], 1e-12));
        Assert.InRange(Bounds[^1], 90, 110);
    }

    [Fact]
    public void EachBoundFallsInItsOwnBucketAndAnythingAboveItInTheNext()
    {
        for (var i = 0; i < Bounds.Count; i++)
        {
            Assert.Equal(i, LiveTraffic.LatencyBucket(Bounds[i]));
            Assert.Equal(i + 1, LiveTraffic.LatencyBucket(Bounds[i] * (1 + 1e-12)));
            Assert.Equal(i, LiveTraffic.LatencyBucket(Bounds[i] * (1 - 1e-12)));
        }
    }

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(-1.0, 0)]
    [InlineData(0.00005, 0)]
    [InlineData(0.00011, 1)]
    [InlineData(1e4, 63)]
    [InlineData(double.MaxValue, 63)]
    [InlineData(double.PositiveInfinity, 63)]
    public void TimesUpToTheFirstBoundGoInTheFirstBucketAndHugeOnesInTheLast(double seconds, int bucket)
    {
        Assert.Equal(bucket, LiveTraffic.LatencyBucket(seconds));
    }

    [Fact]
    public void AQuantileIsInterpolatedWithinItsBucket()
    {
        // 10 requests up to 0.1 ms, 90 from 0.1 to 0.125 ms.
        var traffic = Traffic(requests: 100, errors: 0, (0, 10), (1, 90));

        // The 5th request of the 10 in [0, 0.1 ms]; the 99th is the 89th of the 90 in (0.1, 0.125 ms].
        Assert.Equal(0.00005, traffic.LatencyQuantile(0.05)!.Value, 1e-12);
        Assert.Equal(0.0001 + (0.000025 * 89 / 90), traffic.P99Seconds!.Value, 1e-12);
        Assert.Equal(0.0001, traffic.LatencyQuantile(0.10)!.Value, 1e-12);
        Assert.Equal(0.000125, traffic.LatencyQuantile(1)!.Value, 1e-12);
    }

    [Fact]
    public void AQuantileSkipsEmptyBucketsAndStopsAtTheLastBound()
    {
        var spread = Traffic(requests: 4, errors: 0, (10, 2), (20, 2));
        var slow = Traffic(requests: 3, errors: 0, (5, 1), (Bounds.Count, 2));

        // The median is the top of bucket 10's two requests; just past it, bucket 20 begins.
        Assert.Equal(Bounds[10], spread.LatencyQuantile(0.5)!.Value, 1e-12);
        Assert.InRange(spread.LatencyQuantile(0.51)!.Value, Bounds[19], Bounds[20]);
        Assert.Equal(Bounds[^1], slow.P99Seconds);
    }

    [Fact]
    public void BeforeAnyRequestThereIsNoQuantileAndNoErrorRate()
    {
        Assert.Null(LiveTraffic.None.P99Seconds);
        Assert.Equal(0, LiveTraffic.None.ErrorRate);
        Assert.All(LiveTraffic.None.Latency, count => Assert.Equal(0, count));
    }

    [Fact]
    public void TheErrorRateIsFailedRequestsOverRequests()
    {
        Assert.Equal(0.25, Traffic(requests: 12, errors: 3, (4, 12)).ErrorRate);
        Assert.Equal(1, Traffic(requests: 2, errors: 2, (4, 2)).ErrorRate);
    }

    [Fact]
    public void AWindowIsTheDifferenceOfTwoReadings()
    {
        var earlier = Traffic(requests: 10, errors: 1, (3, 9), (40, 1)) with { Rows = 100 };
        var later = Traffic(requests: 25, errors: 4, (3, 20), (40, 1), (50, 4)) with { Rows = 160 };

        var window = later.Since(earlier);

        Assert.Equal((15L, 3L, 60L), (window.Requests, window.Errors, window.Rows));
        Assert.Equal(Traffic(0, 0, (3, 11), (50, 4)).Latency, window.Latency);
        Assert.Equal(0.2, window.ErrorRate, 1e-12);
        Assert.Equal(LiveTraffic.None.Latency, later.Since(later).Latency);
        Assert.Equal(later.Latency, later.Since(LiveTraffic.None).Latency);
    }

    private static LiveTraffic Traffic(long requests, long errors, params (int Bucket, long Count)[] counts)
    {
        var latency = new long[Bounds.Count + 1];
        foreach (var (bucket, count) in counts)
        {
            latency[bucket] = count;
        }

        return new LiveTraffic(requests, errors, 0, latency);
    }
}
