using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using StackExchange.Redis;

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

    // The newest move of each alias this replica knows of (AliasInfo.Sequence), so an older event arriving late is ignored.
    private readonly ConcurrentDictionary<(string Model, string Alias), long> _sequences = new();

    private TimeSpan AliasTtl => TimeSpan.FromSeconds(options.Value.AliasCacheSeconds);

    public ValueTask<AliasRoute?> ResolveAliasAsync(string model, string alias, CancellationToken cancellationToken) =>
        // Answered from memory on the request path: no state machine, no closure.
        _aliases.TryGetValue((model, alias), out var cached) && cached.Expires > clock.GetUtcNow()
            ? ValueTask.FromResult<AliasRoute?>(cached.Route)
            : ResolveAliasSlowAsync(model, alias, cancellationToken);

    private async ValueTask<AliasRoute?> ResolveAliasSlowAsync(string model, string alias, CancellationToken cancellationToken)
    {
        // An AliasChanged event can land while Redis or the registry answers; the route it writes is newer than this
        // answer, which then must not replace it (else this replica would serve the old version until the entry expires).
        var key = (model, alias);
        var hadEntry = _aliases.TryGetValue(key, out var before);
        var route = await ReadThroughRedisAsync(AliasKey(model, alias), AliasTtl, async () =>
        {
            var info = await registry.GetAliasAsync(model, alias, cancellationToken);
            if (info is not null)
            {
                KnowSequence(key, info.Sequence);
            }

            return info?.Route;
        });
        if (route is not null)
        {
            var entry = (route, clock.GetUtcNow() + AliasTtl);
            _ = hadEntry ? _aliases.TryUpdate(key, entry, before) : _aliases.TryAdd(key, entry);
        }

        return route;
    }

    /// <summary>Whether a move of the alias numbered <paramref name="sequence"/> is older than one this replica knows.</summary>
    public bool IsStale(string model, string alias, long sequence) =>
        sequence > 0 && _sequences.TryGetValue((model, alias), out var known) && sequence < known;

    /// <summary>
    /// Records where an alias sends traffic now (after its versions are loaded), here and in Redis, unless a newer move
    /// of it is known already; returns whether it did.
    /// </summary>
    public async Task<bool> SetAliasAsync(string model, string alias, AliasRoute route, long sequence)
    {
        if (!KnowSequence((model, alias), sequence))
        {
            return false;
        }

        _aliases[(model, alias)] = (route, clock.GetUtcNow() + AliasTtl);
        await WriteRedisAsync(AliasKey(model, alias), route, AliasTtl);
        return true;
    }

    /// <summary>Records <paramref name="sequence"/> as the alias's newest known move; false when a newer one is known.</summary>
    private bool KnowSequence((string Model, string Alias) key, long sequence)
    {
        while (true)
        {
            if (!_sequences.TryGetValue(key, out var known))
            {
                if (_sequences.TryAdd(key, sequence))
                {
                    return true;
                }
            }
            else if (sequence <= known && sequence > 0)
            {
                return sequence == known;
            }
            else if (_sequences.TryUpdate(key, Math.Max(sequence, known), known))
            {
                return true;
            }
        }
    }

    public ValueTask<ModelVersionInfo?> GetVersionAsync(string model, int version, CancellationToken cancellationToken) =>
        _versions.TryGetValue((model, version), out var known)
            ? ValueTask.FromResult<ModelVersionInfo?>(known)
            : GetVersionSlowAsync(model, version, cancellationToken);

    private async ValueTask<ModelVersionInfo?> GetVersionSlowAsync(string model, int version, CancellationToken cancellationToken)
    {
        var info = await ReadThroughRedisAsync($"modelplatform:inference:model:{model}:{version}", MetadataTtl,
            () => registry.GetVersionAsync(model, version, cancellationToken));
        if (info is not null)
        {
            _versions[(model, version)] = info;
        }

        return info;
    }

    private static string AliasKey(string model, string alias) => $"modelplatform:inference:alias:{model}:{alias}";

    /// <summary>
    /// The value Redis holds at <paramref name="key"/>, else the registry's, which is then kept there for
    /// <paramref name="ttl"/> unless a newer one was written meanwhile (events write unconditionally, reads only into a gap).
    /// </summary>
    private async Task<T?> ReadThroughRedisAsync<T>(string key, TimeSpan ttl, Func<Task<T?>> fromRegistry) where T : class
    {
        var json = await redis.TryAsync(async db => (string?)await db.StringGetAsync(key));
        if (json is not null)
        {
            return JsonSerializer.Deserialize<T>(json, JsonSerializerOptions.Web);
        }

        var value = await fromRegistry();
        if (value is not null)
        {
            await WriteRedisAsync(key, value, ttl, When.NotExists);
        }

        return value;
    }

    private Task WriteRedisAsync<T>(string key, T value, TimeSpan ttl, When when = When.Always) =>
        redis.TryAsync(db => db.StringSetAsync(key, JsonSerializer.Serialize(value, JsonSerializerOptions.Web), ttl, when));
}
