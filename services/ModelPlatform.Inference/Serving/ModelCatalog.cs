using System.Collections.Concurrent;
using System.Text.Json;
using ModelPlatform.Contracts;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// Answers "which version does this alias mean" and "what is this version" from, in order: this process's
/// memory, Redis (shared by every replica), and the registry. Alias entries are replaced by
/// <see cref="AliasChanged"/> events and expire after <see cref="InferenceOptions.AliasCacheSeconds"/>
/// in case an event was missed; version metadata is immutable and cached for a day.
/// </summary>
public sealed partial class ModelCatalog(
    RegistryClient registry,
    IConnectionMultiplexer redis,
    IOptions<InferenceOptions> options,
    TimeProvider clock,
    ILogger<ModelCatalog> logger)
{
    private static readonly TimeSpan MetadataTtl = TimeSpan.FromDays(1);
    private readonly ConcurrentDictionary<(string Model, string Alias), (int Version, DateTimeOffset Expires)> _aliases = new();

    private TimeSpan AliasTtl => TimeSpan.FromSeconds(options.Value.AliasCacheSeconds);

    public async Task<int?> ResolveAliasAsync(string model, string alias, CancellationToken cancellationToken)
    {
        if (_aliases.TryGetValue((model, alias), out var cached) && cached.Expires > clock.GetUtcNow())
        {
            return cached.Version;
        }

        var key = AliasKey(model, alias);
        var version = await TryRedisAsync(async db => (int?)await db.StringGetAsync(key));
        if (version is null)
        {
            version = await registry.ResolveAliasAsync(model, alias, cancellationToken);
            if (version is not null)
            {
                await TryRedisAsync(async db => await db.StringSetAsync(key, version.Value, AliasTtl));
            }
        }

        if (version is not null)
        {
            _aliases[(model, alias)] = (version.Value, clock.GetUtcNow() + AliasTtl);
        }

        return version;
    }

    /// <summary>Records where an alias points now (after the new version is loaded), here and in Redis.</summary>
    public async Task SetAliasAsync(string model, string alias, int version)
    {
        _aliases[(model, alias)] = (version, clock.GetUtcNow() + AliasTtl);
        await TryRedisAsync(async db => await db.StringSetAsync(AliasKey(model, alias), version, AliasTtl));
    }

    public async Task<ModelVersionInfo?> GetVersionAsync(string model, int version, CancellationToken cancellationToken)
    {
        var key = $"modelplatform:inference:model:{model}:{version}";
        var json = await TryRedisAsync(async db => (string?)await db.StringGetAsync(key));
        if (json is not null)
        {
            return JsonSerializer.Deserialize<ModelVersionInfo>(json, JsonSerializerOptions.Web);
        }

        var info = await registry.GetVersionAsync(model, version, cancellationToken);
        if (info is not null)
        {
            await TryRedisAsync(async db => await db.StringSetAsync(key, JsonSerializer.Serialize(info, JsonSerializerOptions.Web), MetadataTtl));
        }

        return info;
    }

    private static string AliasKey(string model, string alias) => $"modelplatform:inference:alias:{model}:{alias}";

    // Redis is a cache: when it is down, predictions go on from the registry and memory.
    private async Task<T?> TryRedisAsync<T>(Func<IDatabase, Task<T>> action)
    {
        try
        {
            return await action(redis.GetDatabase());
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogRedisUnavailable(ex.Message);
            return default;
        }
    }

    [LoggerMessage(LogLevel.Warning, "Redis cache unavailable: {Reason}")]
    private partial void LogRedisUnavailable(string reason);
}
