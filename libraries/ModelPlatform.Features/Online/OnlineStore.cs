using System.Diagnostics;
using StackExchange.Redis;

namespace ModelPlatform.Features.Online;

/// <summary>
/// The feature store's online store: the latest row of each entity of each feature view, in Redis, for serving.
/// </summary>
/// <remarks>
/// One hash per (view, entity), at <see cref="OnlineKeys"/>: <c>_ts</c> is the row's event time and <c>_created</c> its created
/// time (Unix microseconds, 0 when none), and each feature is a field holding a typed value (<see cref="OnlineValues"/>).
/// A null value is an absent field, so a null (the row is there) differs from not found (no row).
/// <para>
/// Writes never let an older row replace a newer one, so materialization can be replayed. The hash expires one TTL after its
/// max age: past its TTL, reads still find it and answer <see cref="FeatureStatus.OutsideMaxAge"/> for a while instead of
/// <see cref="FeatureStatus.NotFound"/>, and Redis frees it later. Every write sets the expiry afresh.
/// </para>
/// </remarks>
public sealed class OnlineStore(IConnectionMultiplexer redis, TimeProvider clock)
{
    /// <summary>Rows sent to Redis in one round trip.</summary>
    public const int RowsPerFlush = 1000;

    internal const string EventTimeField = "_ts";
    internal const string CreatedTimeField = "_created";

    // KEYS[1]: the row's hash. ARGV[1]: event time, ARGV[2]: created time (Unix µs), ARGV[3]: when the hash expires
    // (Unix ms; 0: never), then feature, value, feature, value... Returns 1 when written, 0 when the stored row is as new or newer.
    // The whole hash is replaced, so features the new row lacks do not linger; a new hash has no expiry until one is set.
    // unpack() works in slices because Lua's stack holds only so many values.
    private const string WriteScript = """
        local stored = redis.call('HMGET', KEYS[1], '_ts', '_created')
        if stored[1] then
          local storedEvent, event = tonumber(stored[1]), tonumber(ARGV[1])
          if storedEvent > event or (storedEvent == event and tonumber(stored[2] or '0') >= tonumber(ARGV[2])) then
            return 0
          end
        end
        redis.call('DEL', KEYS[1])
        redis.call('HSET', KEYS[1], '_ts', ARGV[1], '_created', ARGV[2])
        for first = 4, #ARGV, 1000 do
          redis.call('HSET', KEYS[1], unpack(ARGV, first, math.min(first + 999, #ARGV)))
        end
        if ARGV[3] ~= '0' then
          redis.call('PEXPIREAT', KEYS[1], ARGV[3])
        end
        return 1
        """;

    // KEYS: every (view, entity) hash of a read, view by view. ARGV[1]: how many views; then, per view, its number of entities,
    // its number of fields and the fields. Returns one HMGET reply per key, in KEYS' order. One script call rather than an HMGET
    // per key: the client sends, awaits and parses one command instead of 300 for 100 entities × 3 views, which was most of a
    // read's time (the keys all live on the one Redis server the platform uses; a Redis Cluster would need them in one slot).
    private const string ReadScript = """
        local replies, key, arg = {}, 1, 2
        for view = 1, tonumber(ARGV[1]) do
          local entities, count = tonumber(ARGV[arg]), tonumber(ARGV[arg + 1])
          local fields = {unpack(ARGV, arg + 2, arg + 1 + count)}
          arg = arg + 2 + count
          for entity = 1, entities do
            replies[key] = redis.call('HMGET', KEYS[key], unpack(fields))
            key = key + 1
          end
        end
        return replies
        """;

    private static readonly string[] StatusNames = ["present", "null", "not_found", "outside_max_age"];

    /// <summary>
    /// Stores each row unless the store holds a newer one for its entity: a later event time wins, then a later created time;
    /// a row equal in both is skipped, so a replay changes nothing. Rows go to Redis <see cref="RowsPerFlush"/> at a time;
    /// if one fails, the batches before it stay written, and running the write again is safe.
    /// </summary>
    public async Task<MaterializeCounts> WriteAsync(OnlineView view, IReadOnlyList<OnlineRow> rows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(rows);
        using var activity = OnlineTelemetry.Source.StartActivity($"online write {view.Name}");
        activity?.SetTag(OnlineTelemetry.ViewTag, view.Name);
        activity?.SetTag("rows", rows.Count);
        var started = Stopwatch.GetTimestamp();
        var database = redis.GetDatabase();
        var (written, skipped) = (0, 0);
        // The first row goes alone. The client sends a script's text (EVAL) until it has seen the server run it, and by its
        // hash (EVALSHA) afterwards: this way a thousand copies of the text do not go out with the first batch.
        for (var first = 0; first < rows.Count;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = first == 0 ? 1 : Math.Min(RowsPerFlush, rows.Count - first);
            // Encoded before anything is sent, so a bad row fails its batch whole.
            var keys = new RedisKey[count];
            var arguments = new RedisValue[count][];
            for (var i = 0; i < count; i++)
            {
                var row = rows[first + i] ?? throw new ArgumentException($"rows[{first + i}] is null.", nameof(rows));
                keys[i] = OnlineKeys.For(view, row.Entity, nameof(rows), first + i);
                arguments[i] = WriteArguments(view, row);
            }

            var batch = database.CreateBatch();
            var replies = new Task<RedisResult>[count];
            for (var i = 0; i < count; i++)
            {
                replies[i] = batch.ScriptEvaluateAsync(WriteScript, [keys[i]], arguments[i]);
            }

            batch.Execute();
            foreach (var reply in await Task.WhenAll(replies))
            {
                if ((long)reply == 1)
                {
                    written++;
                }
                else
                {
                    skipped++;
                }
            }

            first += count;
        }

        var viewTag = new KeyValuePair<string, object?>(OnlineTelemetry.ViewTag, view.Name);
        OnlineTelemetry.RowsWritten.Add(written, viewTag);
        OnlineTelemetry.RowsSkipped.Add(skipped, viewTag);
        OnlineTelemetry.WriteDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, viewTag);
        return new MaterializeCounts(written, skipped);
    }

    /// <summary>
    /// Reads <paramref name="features"/> for each of <paramref name="entities"/>. Each entity holds the values of the join keys of
    /// every view asked for (by name; others are ignored). A value whose event time is more than the view's TTL before now
    /// (by the clock) is <see cref="FeatureStatus.OutsideMaxAge"/>; one exactly TTL old is still present.
    /// The read is one command: a script that runs an HMGET per entity and view on the server, in one round trip.
    /// </summary>
    public async Task<OnlineFeatureTable> ReadAsync(
        IReadOnlyList<OnlineFeatureRequest> features,
        IReadOnlyList<IReadOnlyDictionary<string, object?>> entities,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(entities);
        using var activity = OnlineTelemetry.Source.StartActivity("online read");
        activity?.SetTag("entities", entities.Count);
        activity?.SetTag("feature_views", features.Count);
        var started = Stopwatch.GetTimestamp();
        var now = UnixMicroseconds(clock.GetUtcNow());

        // Every key first, so an entity without a join key fails the read before anything is sent.
        var keys = new RedisKey[features.Count][];
        for (var v = 0; v < features.Count; v++)
        {
            keys[v] = new RedisKey[entities.Count];
            for (var e = 0; e < entities.Count; e++)
            {
                keys[v][e] = OnlineKeys.For(features[v].View, entities[e], nameof(entities), e);
            }
        }

        var arguments = new List<RedisValue> { features.Count };
        foreach (var feature in features)
        {
            arguments.Add(entities.Count);
            arguments.Add(feature.Features.Count + 1);
            arguments.Add(EventTimeField);
            arguments.AddRange(feature.Features.Select(name => (RedisValue)name));
        }

        var replies = (RedisResult[])(await redis.GetDatabase()
            .ScriptEvaluateAsync(ReadScript, [.. keys.SelectMany(view => view)], [.. arguments])
            .WaitAsync(cancellationToken))!;

        var names = new List<string>();
        var results = new List<OnlineFeatureResult>();
        for (var v = 0; v < features.Count; v++)
        {
            var (view, featureNames) = (features[v].View, features[v].Features);
            var values = NewRows<object?>(featureNames.Count, entities.Count);
            var statuses = NewRows<FeatureStatus>(featureNames.Count, entities.Count);
            var eventTimes = NewRows<DateTimeOffset?>(featureNames.Count, entities.Count);
            var statusCounts = new long[StatusNames.Length];
            for (var e = 0; e < entities.Count; e++)
            {
                var stored = (RedisValue[])replies[v * entities.Count + e]!;
                var (rowStatus, eventTime) = RowStatus(view, stored[0], now);
                for (var f = 0; f < featureNames.Count; f++)
                {
                    var value = stored[f + 1];
                    var status = rowStatus == FeatureStatus.Present && value.IsNull ? FeatureStatus.Null : rowStatus;
                    values[f][e] = status == FeatureStatus.Present ? OnlineValues.Decode(value) : null;
                    statuses[f][e] = status;
                    eventTimes[f][e] = eventTime;
                    statusCounts[(int)status]++;
                }
            }

            for (var f = 0; f < featureNames.Count; f++)
            {
                names.Add($"{view.Name}:{featureNames[f]}");
                results.Add(new OnlineFeatureResult(values[f], statuses[f], eventTimes[f]));
            }

            CountValues(view, statusCounts);
        }

        OnlineTelemetry.ReadDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        return new OnlineFeatureTable(new OnlineFeatureMetadata(names), results);
    }

    private static RedisValue[] WriteArguments(OnlineView view, OnlineRow row)
    {
        var expiresAt = view.Ttl == TimeSpan.Zero
            ? 0
            // Unix ms, rounded up so the hash never goes before its event time + 2 × TTL.
            : (UnixMicroseconds(row.EventTimestamp) + 2 * (view.Ttl.Ticks / TimeSpan.TicksPerMicrosecond) + 999) / 1000;
        var arguments = new List<RedisValue>(3 + 2 * row.Values.Count)
        {
            UnixMicroseconds(row.EventTimestamp),
            row.CreatedTimestamp is { } created ? UnixMicroseconds(created) : 0,
            expiresAt,
        };
        foreach (var (feature, value) in row.Values)
        {
            if (feature is EventTimeField or CreatedTimeField)
            {
                throw new ArgumentException($"Feature view '{view.Name}' has a feature named '{feature}', which the online store keeps for itself.");
            }

            if (!OnlineValues.IsNull(value))
            {
                arguments.Add(feature);
                arguments.Add(OnlineValues.Encode(feature, value!));
            }
        }

        return [.. arguments];
    }

    // What a row's values are, by its event time: not found, outside its max age, or present (unless a value is null).
    private static (FeatureStatus Status, DateTimeOffset? EventTime) RowStatus(OnlineView view, RedisValue storedEventTime, long now)
    {
        if (storedEventTime.IsNull)
        {
            return (FeatureStatus.NotFound, null);
        }

        var eventTime = (long)storedEventTime;
        var ttl = view.Ttl.Ticks / TimeSpan.TicksPerMicrosecond;
        var status = ttl > 0 && now - eventTime > ttl ? FeatureStatus.OutsideMaxAge : FeatureStatus.Present;
        return (status, FromUnixMicroseconds(eventTime));
    }

    private static T[][] NewRows<T>(int rows, int columns)
    {
        var table = new T[rows][];
        for (var row = 0; row < rows; row++)
        {
            table[row] = new T[columns];
        }

        return table;
    }

    private static void CountValues(OnlineView view, long[] statusCounts)
    {
        for (var status = 0; status < statusCounts.Length; status++)
        {
            if (statusCounts[status] > 0)
            {
                OnlineTelemetry.Values.Add(statusCounts[status],
                    new(OnlineTelemetry.ViewTag, view.Name), new(OnlineTelemetry.StatusTag, StatusNames[status]));
            }
        }
    }

    private static long UnixMicroseconds(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;

    private static DateTimeOffset FromUnixMicroseconds(long microseconds) => DateTimeOffset.UnixEpoch.AddTicks(microseconds * TimeSpan.TicksPerMicrosecond);
}
