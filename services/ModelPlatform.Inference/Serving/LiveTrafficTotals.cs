using ModelPlatform.Contracts;
using StackExchange.Redis;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// Each model version's live traffic since it was first served, on every replica: one Redis hash per version, to which
/// each replica adds its counts (<see cref="LiveTrafficTally"/>). A flush is added in one transaction, so a reader never
/// sees its requests without their errors or latencies.
/// </summary>
public sealed class LiveTrafficTotals(RedisCache redis)
{
    // Field names of the latency buckets, made once.
    private static readonly string[] BucketFields = [.. Enumerable.Range(0, LiveTraffic.LatencyBounds.Count + 1).Select(bucket => $"b{bucket}")];

    /// <summary>Adds counts to the version's totals. False when Redis is unreachable (nothing was added).</summary>
    public async Task<bool> AddAsync(string model, int version, LiveTraffic counts) =>
        await redis.TryAsync(async db =>
        {
            var key = Key(model, version);
            var transaction = db.CreateTransaction();
            // Queued, not awaited: they run together on ExecuteAsync.
            _ = transaction.HashIncrementAsync(key, "requests", counts.Requests);
            _ = transaction.HashIncrementAsync(key, "errors", counts.Errors);
            _ = transaction.HashIncrementAsync(key, "rows", counts.Rows);
            for (var bucket = 0; bucket < counts.Latency.Count; bucket++)
            {
                if (counts.Latency[bucket] != 0)
                {
                    _ = transaction.HashIncrementAsync(key, BucketFields[bucket], counts.Latency[bucket]);
                }
            }

            return await transaction.ExecuteAsync();
        });

    /// <summary>The version's totals (<see cref="LiveTraffic.None"/> before any); null when Redis is unreachable.</summary>
    public Task<LiveTraffic?> ReadAsync(string model, int version) =>
        redis.TryAsync<LiveTraffic?>(async db =>
        {
            // One HGETALL: the fields as of one moment.
            var fields = (await db.HashGetAllAsync(Key(model, version))).ToDictionary(entry => (string)entry.Name!, entry => (long)entry.Value);
            return fields.Count == 0
                ? LiveTraffic.None
                : new LiveTraffic(
                    fields.GetValueOrDefault("requests"), fields.GetValueOrDefault("errors"), fields.GetValueOrDefault("rows"),
                    [.. BucketFields.Select(field => fields.GetValueOrDefault(field))]);
        });

    private static string Key(string model, int version) => $"modelplatform:inference:live:{model}:{version}";
}
