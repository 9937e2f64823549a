using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// Redis as this service uses it: a cache shared by the replicas, never a dependency. While it is unreachable every
/// call returns at once with nothing, and requests go on from memory and the registry.
/// </summary>
public sealed partial class RedisCache(IConnectionMultiplexer redis, TimeProvider clock, ILogger<RedisCache> logger)
{
    private static readonly TimeSpan WarningInterval = TimeSpan.FromSeconds(30);
    private long _lastWarning;

    public bool IsAvailable => redis.IsConnected;

    /// <summary>Runs <paramref name="action"/> against Redis; returns default when Redis is down or the call fails.</summary>
    public async Task<T?> TryAsync<T>(Func<IDatabase, Task<T>> action)
    {
        if (!redis.IsConnected)
        {
            return default;
        }

        try
        {
            return await action(redis.GetDatabase());
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // One warning per interval: on the request path, an outage would otherwise log on every request.
            var now = clock.GetTimestamp();
            var last = Interlocked.Read(ref _lastWarning);
            if ((last == 0 || clock.GetElapsedTime(last, now) > WarningInterval) && Interlocked.CompareExchange(ref _lastWarning, now, last) == last)
            {
                LogUnavailable(ex.Message);
            }

            return default;
        }
    }

    [LoggerMessage(LogLevel.Warning, "Redis cache unavailable, serving without it: {Reason}")]
    private partial void LogUnavailable(string reason);
}

/// <summary>Redis down leaves the service working without its cache: degraded, still ready.</summary>
public sealed class RedisCacheHealthCheck(RedisCache cache) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(cache.IsAvailable
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Degraded("Redis is unreachable: predictions go on without the alias, metadata and prediction caches."));
}
