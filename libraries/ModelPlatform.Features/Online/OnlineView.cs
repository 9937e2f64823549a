namespace ModelPlatform.Features.Online;

/// <summary>
/// What the online store needs to know about a feature view: its name, the join keys that identify an entity
/// (in the view's declared order, which is the order they take in a Redis key) and how long a value stays fresh.
/// </summary>
public sealed record OnlineView
{
    public OnlineView(string name, IReadOnlyList<string> joinKeys, TimeSpan ttl)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(joinKeys);
        if (joinKeys.Count == 0 || joinKeys.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException($"Feature view '{name}' needs at least one join key, and no blank ones.", nameof(joinKeys));
        }

        if (joinKeys.Distinct(StringComparer.Ordinal).Count() != joinKeys.Count)
        {
            throw new ArgumentException($"Feature view '{name}' names a join key twice.", nameof(joinKeys));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(ttl, TimeSpan.Zero);
        Name = name;
        JoinKeys = joinKeys;
        Ttl = ttl;
    }

    public string Name { get; }

    public IReadOnlyList<string> JoinKeys { get; }

    /// <summary>A value older than this (by its event time) is outside its max age. <see cref="TimeSpan.Zero"/>: no limit.</summary>
    public TimeSpan Ttl { get; }
}

/// <summary>
/// One entity's latest values in a feature view, as materialization writes them: the entity's join key values
/// (by name; other entries are ignored), its feature values (numbers, strings, booleans or null),
/// when the values were true (event time) and, to order two rows of the same event time, when they were recorded.
/// </summary>
public sealed record OnlineRow(
    IReadOnlyDictionary<string, object?> Entity,
    IReadOnlyDictionary<string, object?> Values,
    DateTimeOffset EventTimestamp,
    DateTimeOffset? CreatedTimestamp = null);

/// <summary>What a write did: rows stored, and rows skipped because the store already held a newer (or the same) row.</summary>
public sealed record MaterializeCounts(int Written, int Skipped);
