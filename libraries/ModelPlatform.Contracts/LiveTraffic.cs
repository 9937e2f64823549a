namespace ModelPlatform.Contracts;

/// <summary>
/// What one model version has answered live, on every replica, since it was first served: requests, the ones that failed
/// (any answer of 400 or more after the version was chosen: inputs it cannot read, or a fault), the records it scored, and
/// each request's time in <see cref="LatencyBounds"/>' buckets. The figures only grow: a window is the difference of two
/// readings (<see cref="Since"/>).
/// </summary>
/// <param name="Latency">Requests per latency bucket: the i-th counts times up to <c>LatencyBounds[i]</c>, the last everything above.</param>
public sealed record LiveTraffic(long Requests, long Errors, long Rows, IReadOnlyList<long> Latency)
{
    /// <summary>Upper bounds of the latency buckets, in seconds: 0.1 ms, each a quarter above the one before, to about 100 s.</summary>
    public static readonly IReadOnlyList<double> LatencyBounds = [.. Enumerable.Range(0, 63).Select(i => 0.0001 * Math.Pow(1.25, i))];

    public static readonly LiveTraffic None = new(0, 0, 0, new long[LatencyBounds.Count + 1]);

    /// <summary>Failed requests over requests; 0 before any.</summary>
    public double ErrorRate => Requests == 0 ? 0 : (double)Errors / Requests;

    /// <summary>The 99th percentile of request time, in seconds; null before any request.</summary>
    public double? P99Seconds => LatencyQuantile(0.99);

    /// <summary>The bucket a request of <paramref name="seconds"/> is counted in.</summary>
    public static int LatencyBucket(double seconds)
    {
        // The bounds grow geometrically, so the bucket is a logarithm away (then checked against the bounds, for rounding).
        var bucket = seconds <= LatencyBounds[0] ? 0 : (int)Math.Ceiling(Math.Log(seconds / LatencyBounds[0]) / Math.Log(1.25));
        bucket = Math.Clamp(bucket, 0, LatencyBounds.Count);
        while (bucket > 0 && seconds <= LatencyBounds[bucket - 1])
        {
            bucket--;
        }

        while (bucket < LatencyBounds.Count && seconds > LatencyBounds[bucket])
        {
            bucket++;
        }

        return bucket;
    }

    /// <summary>What was answered after <paramref name="earlier"/>, a reading of the same version.</summary>
    public LiveTraffic Since(LiveTraffic earlier) => new(
        Requests - earlier.Requests, Errors - earlier.Errors, Rows - earlier.Rows,
        [.. Latency.Select((count, bucket) => count - (bucket < earlier.Latency.Count ? earlier.Latency[bucket] : 0))]);

    /// <summary>
    /// The request time below which <paramref name="quantile"/> of requests fell, interpolated within its bucket (so within a
    /// quarter of the true value); null before any request. Past the last bound, the last bound.
    /// </summary>
    public double? LatencyQuantile(double quantile)
    {
        var total = Latency.Sum();
        if (total == 0)
        {
            return null;
        }

        var rank = quantile * total;
        var below = 0L;
        for (var bucket = 0; bucket < Latency.Count; bucket++)
        {
            if (Latency[bucket] > 0 && below + Latency[bucket] >= rank)
            {
                if (bucket == LatencyBounds.Count)
                {
                    return LatencyBounds[^1];
                }

                var lower = bucket == 0 ? 0 : LatencyBounds[bucket - 1];
                return lower + ((LatencyBounds[bucket] - lower) * (rank - below) / Latency[bucket]);
            }

            below += Latency[bucket];
        }

        return LatencyBounds[^1];
    }
}
