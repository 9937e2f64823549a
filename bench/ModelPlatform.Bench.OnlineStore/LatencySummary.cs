using System.Diagnostics;

namespace ModelPlatform.Bench.OnlineStore;

/// <summary>One run's client-observed latency percentiles (milliseconds) and its rate.</summary>
internal sealed record LatencySummary(double P50, double P90, double P99, double P999, double Max, double RequestsPerSecond)
{
    /// <summary>
    /// Calls <paramref name="call"/> <paramref name="requests"/> times (with the request's index) from <paramref name="callers"/>
    /// callers, each waiting for its answer before it asks again, and times every call.
    /// </summary>
    public static async Task<LatencySummary> MeasureAsync(int requests, int callers, Func<int, Task> call)
    {
        var milliseconds = new double[requests];
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < requests; i = Interlocked.Increment(ref next))
            {
                var started = Stopwatch.GetTimestamp();
                await call(i);
                milliseconds[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        })));
        var seconds = clock.Elapsed.TotalSeconds;
        Array.Sort(milliseconds);
        // Nearest rank: the smallest value at or above the given share of the calls.
        double Percentile(double share) => milliseconds[Math.Max(0, (int)Math.Ceiling(share * requests) - 1)];
        return new LatencySummary(Percentile(0.5), Percentile(0.9), Percentile(0.99), Percentile(0.999), milliseconds[^1], requests / seconds);
    }

    /// <summary>Each figure's median over <paramref name="rounds"/>, figure by figure.</summary>
    public static LatencySummary MedianOf(IReadOnlyList<LatencySummary> rounds)
    {
        double Median(Func<LatencySummary, double> figure)
        {
            var sorted = rounds.Select(figure).Order().ToArray();
            return (sorted[(sorted.Length - 1) / 2] + sorted[sorted.Length / 2]) / 2;
        }

        return new LatencySummary(
            Median(r => r.P50), Median(r => r.P90), Median(r => r.P99), Median(r => r.P999), Median(r => r.Max), Median(r => r.RequestsPerSecond));
    }
}
