using System.Collections.Concurrent;
using ModelPlatform.Contracts;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// What each model version answered live on this replica since the last flush: requests, errors, records scored and
/// latency buckets (<see cref="LiveTraffic"/>). Counting is a dictionary lookup and a few interlocked adds, no I/O:
/// <see cref="LiveTrafficFlusher"/> moves the counts to Redis, where every replica's add up.
/// </summary>
public sealed class LiveTrafficTally
{
    private readonly ConcurrentDictionary<(string Model, int Version), Counters> _versions = new();

    /// <summary>Counts one request the version answered, <paramref name="failed"/> or not, in <paramref name="elapsed"/>.</summary>
    public void Answered(string model, int version, bool failed, TimeSpan elapsed)
    {
        var counters = For(model, version);
        Interlocked.Increment(ref counters.Requests);
        if (failed)
        {
            Interlocked.Increment(ref counters.Errors);
        }

        Interlocked.Increment(ref counters.Latency[LiveTraffic.LatencyBucket(elapsed.TotalSeconds)]);
    }

    /// <summary>Counts records the version scored.</summary>
    public void Scored(string model, int version, int rows) => Interlocked.Add(ref For(model, version).Rows, rows);

    /// <summary>
    /// Hands each version's counts since the last flush to <paramref name="add"/>. Counts it did not add (false: Redis is
    /// unreachable; or it threw) are put back, to go with the next flush.
    /// </summary>
    public async Task FlushAsync(Func<string, int, LiveTraffic, Task<bool>> add)
    {
        foreach (var ((model, version), counters) in _versions)
        {
            if (counters.Take() is not { } delta)
            {
                continue;
            }

            var added = false;
            try
            {
                added = await add(model, version, delta);
            }
            finally
            {
                if (!added)
                {
                    counters.PutBack(delta);
                }
            }
        }
    }

    private Counters For(string model, int version) => _versions.GetOrAdd((model, version), static _ => new Counters());

    private sealed class Counters
    {
        public long Requests;
        public long Errors;
        public long Rows;
        public readonly long[] Latency = new long[LiveTraffic.LatencyBounds.Count + 1];

        /// <summary>
        /// The counts so far, each reset to zero as it is read; null when there were none. A request counted meanwhile may
        /// fall on either side, its latency in one flush and its request in the next: totals stay exact, a reading is off by
        /// requests in flight.
        /// </summary>
        public LiveTraffic? Take()
        {
            var latency = new long[Latency.Length];
            var any = false;
            for (var bucket = 0; bucket < latency.Length; bucket++)
            {
                latency[bucket] = Interlocked.Exchange(ref Latency[bucket], 0);
                any |= latency[bucket] != 0;
            }

            var delta = new LiveTraffic(Interlocked.Exchange(ref Requests, 0), Interlocked.Exchange(ref Errors, 0), Interlocked.Exchange(ref Rows, 0), latency);
            return any || delta.Requests != 0 || delta.Errors != 0 || delta.Rows != 0 ? delta : null;
        }

        public void PutBack(LiveTraffic delta)
        {
            Interlocked.Add(ref Requests, delta.Requests);
            Interlocked.Add(ref Errors, delta.Errors);
            Interlocked.Add(ref Rows, delta.Rows);
            for (var bucket = 0; bucket < Latency.Length; bucket++)
            {
                Interlocked.Add(ref Latency[bucket], delta.Latency[bucket]);
            }
        }
    }
}
