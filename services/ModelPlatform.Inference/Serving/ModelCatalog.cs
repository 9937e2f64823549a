using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// Answers "where does this alias send traffic" and "what is this version" from, in order: this process's memory,
/// Redis (shared by every replica), and the registry. Alias routes are replaced by <see cref="AliasChanged"/> events
/// and expire after <see cref="InferenceOptions.AliasCacheSeconds"/> in case an event was missed; version metadata is
/// immutable, cached in memory for good and in Redis for a day.
/// </summary>
public sealed class ModelCatalog(RegistryClient registry, RedisCache redis, IOptions<InferenceOptions> options, TimeProvider clock)
{
    private static readonly TimeSpan MetadataTtl = TimeSpan.FromDays(1);
    private readonly ConcurrentDictionary<(string Model, string Alias), (AliasRoute Route, DateTimeOffset Expires)> _aliases = new();
    private readonly ConcurrentDictionary<(string Model, int Version), ModelVersionInfo> _versions = new();

    private TimeSpan AliasTtl => TimeSpan.FromSeconds(options.Value.AliasCacheSeconds);

    public async ValueTask<AliasRoute?> ResolveAliasAsync(string model, string alias, CancellationToken cancellationToken)
    {
        if (_aliases.TryGetValue((model, alias), out var cached) && cached.Expires > clock.GetUtcNow())
        {
            return cached.Route;
        }

        var key = AliasKey(model, alias);
        var json = await redis.TryAsync(async db => (string?)await db.StringGetAsync(key));
        var route = json is null ? null : JsonSerializer.Deserialize<AliasRoute>(json, JsonSerializerOptions.Web);
        if (route is null)
        {
            route = (await registry.GetAliasAsync(model, alias, cancellationToken))?.Route;
            if (route is not null)
            {
                await redis.TryAsync(db => db.StringSetAsync(key, JsonSerializer.Serialize(route, JsonSerializerOptions.Web), AliasTtl));
            }
        }

        if (route is not null)
        {
            _aliases[(model, alias)] = (route, clock.GetUtcNow() + AliasTtl);
        }

        return route;
    }

    /// <summary>Records where an alias sends traffic now (after its versions are loaded), here and in Redis.</summary>
    public async Task SetAliasAsync(string model, string alias, AliasRoute route)
    {
        _aliases[(model, alias)] = (route, clock.GetUtcNow() + AliasTtl);
        await redis.TryAsync(db => db.StringSetAsync(AliasKey(model, alias), JsonSerializer.Serialize(route, JsonSerializerOptions.Web), AliasTtl));
    }

    public async ValueTask<ModelVersionInfo?> GetVersionAsync(string model, int version, CancellationToken cancellationToken)
    {
        if (_versions.TryGetValue((model, version), out var known))
        {
            return known;
        }

        var key = $"modelplatform:inference:model:{model}:{version}";
        var json = await redis.TryAsync(async db => (string?)await db.StringGetAsync(key));
        var info = json is null ? null : JsonSerializer.Deserialize<ModelVersionInfo>(json, JsonSerializerOptions.Web);
        if (info is null)
        {
            info = await registry.GetVersionAsync(model, version, cancellationToken);
            if (info is not null)
            {
                await redis.TryAsync(db => db.StringSetAsync(key, JsonSerializer.Serialize(info, JsonSerializerOptions.Web), MetadataTtl));
            }
        }

        if (info is not null)
        {
            _versions[(model, version)] = info;
        }

        return info;
    }

    private static string AliasKey(string model, string alias) => $"modelplatform:inference:alias:{model}:{alias}";
}
