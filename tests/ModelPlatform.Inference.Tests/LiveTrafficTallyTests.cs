using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using ModelPlatform.Contracts;
using ModelPlatform.Inference.Apis;
using ModelPlatform.Inference.Serving;

namespace ModelPlatform.Inference.Tests;

/// <summary>Live traffic as one replica counts it, flushes it to Redis, and keeps it while Redis is away.</summary>
public class LiveTrafficTallyTests
{
    private static readonly TimeSpan Fast = TimeSpan.FromMilliseconds(2);
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task AFlushHandsOverEachVersionsCountsOnceAndThenNothing()
    {
        var tally = new LiveTrafficTally();
        tally.Answered("iris", 1, failed: false, Fast);
        tally.Answered("iris", 1, failed: true, Slow);
        tally.Scored("iris", 1, 150);
        tally.Answered("iris", 2, failed: false, Fast);
        tally.Scored("iris", 2, 1);

        var first = await FlushAsync(tally);
        var second = await FlushAsync(tally);

        Assert.Equal(new[] { ("iris", 1), ("iris", 2) }, first.Keys.Order());
        var one = first[("iris", 1)];
        Assert.Equal((2L, 1L, 150L), (one.Requests, one.Errors, one.Rows));
        Assert.Equal(1, one.Latency[LiveTraffic.LatencyBucket(Fast.TotalSeconds)]);
        Assert.Equal(1, one.Latency[LiveTraffic.LatencyBucket(Slow.TotalSeconds)]);
        Assert.Equal(2, one.Latency.Sum());
        Assert.Equal((1L, 0L, 1L), (first[("iris", 2)].Requests, first[("iris", 2)].Errors, first[("iris", 2)].Rows));
        Assert.Empty(second);
    }

    [Fact]
    public async Task CountsNotAddedWhileRedisIsUnreachableGoWithTheNextFlush()
    {
        var tally = new LiveTrafficTally();
        tally.Answered("iris", 1, failed: true, Fast);
        tally.Scored("iris", 1, 10);

        // Redis unreachable: nothing is added, and the counts stay.
        await tally.FlushAsync((_, _, _) => Task.FromResult(false));
        tally.Answered("iris", 1, failed: false, Slow);
        tally.Scored("iris", 1, 5);
        var flushed = await FlushAsync(tally);

        var counts = Assert.Single(flushed).Value;
        Assert.Equal((2L, 1L, 15L), (counts.Requests, counts.Errors, counts.Rows));
        Assert.Equal(2, counts.Latency.Sum());
    }

    [Fact]
    public async Task CountsOfAFlushThatThrowsAreKept()
    {
        var tally = new LiveTrafficTally();
        tally.Answered("iris", 1, failed: false, Fast);

        await Assert.ThrowsAsync<InvalidOperationException>(() => tally.FlushAsync((_, _, _) => throw new InvalidOperationException("unexpected")));
        var flushed = await FlushAsync(tally);

        Assert.Equal(1, Assert.Single(flushed).Value.Requests);
    }

    [Fact]
    public async Task TheTotalsAddUpEveryFlushAndAReaderSeesOnlyWholeOnes()
    {
        var redis = new FakeRedis();
        var totals = new LiveTrafficTotals(new RedisCache(redis.Connection(), TimeProvider.System, NullLogger<RedisCache>.Instance));
        var tally = new LiveTrafficTally();
        var before = await totals.ReadAsync("iris", 1);

        for (var flush = 0; flush < 2; flush++)
        {
            tally.Answered("iris", 1, failed: false, Fast);
            tally.Answered("iris", 1, failed: true, Slow);
            tally.Scored("iris", 1, 150);
            await tally.FlushAsync(totals.AddAsync);
        }

        var after = (await totals.ReadAsync("iris", 1))!;
        Assert.Equal(0, before!.Requests);
        Assert.Equal(LiveTraffic.None.Latency, before.Latency);
        Assert.Equal((4L, 2L, 300L), (after.Requests, after.Errors, after.Rows));
        Assert.Equal(2, after.Latency[LiveTraffic.LatencyBucket(Slow.TotalSeconds)]);
        Assert.Equal(4, after.Latency.Sum());
        // Only buckets that counted something are stored, and a reader between two commands of a flush would see requests
        // without their latencies.
        Assert.All(redis.ObservableStates, state =>
        {
            var hash = state["modelplatform:inference:live:iris:1"];
            var (fast, slow) = (LiveTraffic.LatencyBucket(Fast.TotalSeconds), LiveTraffic.LatencyBucket(Slow.TotalSeconds));
            Assert.Equal([$"b{fast}", $"b{slow}", "errors", "requests", "rows"], hash.Keys.Order());
            Assert.Equal(hash["requests"], hash.Where(field => field.Key.StartsWith('b')).Sum(field => field.Value));
        });
    }

    [Theory]
    [InlineData("3", 200, false, false, 3, false)]
    [InlineData("3", 400, false, false, 3, true)]
    [InlineData("3", 413, false, false, 3, true)]
    [InlineData("3", 500, false, false, 3, true)]
    [InlineData("3", 200, true, false, 3, true)] // an exception escaped: the status is not written yet
    public void ARequestAVersionAnsweredCountsForItFailedFrom400(string answeredBy, int status, bool threw, bool aborted, int version, bool failed)
    {
        Assert.Equal<(int, bool)?>((version, failed), LiveTrafficCounting.Outcome(answeredBy, status, threw, aborted));
    }

    [Theory]
    [InlineData(null, StatusCodes.Status404NotFound, false, false)] // no such model or version
    [InlineData(null, StatusCodes.Status400BadRequest, false, false)] // refused before a version was chosen
    [InlineData("", StatusCodes.Status500InternalServerError, true, false)]
    [InlineData("3", StatusCodes.Status200OK, false, true)] // the caller went away
    [InlineData("3", StatusCodes.Status400BadRequest, true, true)]
    public void ARequestNoVersionAnsweredOrWhoseCallerLeftCountsForNone(string? answeredBy, int status, bool threw, bool aborted)
    {
        Assert.Null(LiveTrafficCounting.Outcome(answeredBy, status, threw, aborted));
    }

    private static async Task<Dictionary<(string Model, int Version), LiveTraffic>> FlushAsync(LiveTrafficTally tally)
    {
        var flushed = new Dictionary<(string, int), LiveTraffic>();
        await tally.FlushAsync((model, version, counts) =>
        {
            flushed.Add((model, version), counts);
            return Task.FromResult(true);
        });
        return flushed;
    }
}
