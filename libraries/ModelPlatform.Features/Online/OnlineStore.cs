using System.Diagnostics;
using StackExchange.Redis;

namespace ModelPlatform.Features.Online;

/// <summary>
/// The feature store's online store: the latest row of each entity of each feature view, in Redis, for serving.
/// </summary>
/// <remarks>
/// One string per (view, entity), at <see cref="OnlineKeys"/>, holding the row as <see cref="OnlineRecord"/> writes it: its
/// event and created times, then its values; a null value is absent, so a null (the row is there) differs from not found
/// (no row). A read is one MGET per view, all in one round trip: the client sends and parses three commands for 100
/// entities of 3 views, where a hash per row took 300 HMGETs, and the client's work per command was most of a read's time.
/// <para>
/// Writes never let an older row replace a newer one, so materialization can be replayed. The row expires one TTL after its
/// max age: past its TTL, reads still find it and answer <see cref="FeatureStatus.OutsideMaxAge"/> for a while instead of
/// <see cref="FeatureStatus.NotFound"/>, and Redis frees it later. Every write sets the expiry afresh.
/// </para>
/// </remarks>
public sealed class OnlineStore(IConnectionMultiplexer redis, TimeProvider clock)
{
    /// <summary>Rows sent to Redis in one round trip.</summary>
    public const int RowsPerFlush = 1000;

    // KEYS[1]: the row's key. ARGV[1]: event time, ARGV[2]: created time (Unix µs), ARGV[3]: when the row expires (Unix ms;
    // 0: never), ARGV[4]: the row (OnlineRecord). Returns 1 when written, 0 when the stored row is as new or newer. The stored
    // row's times lead it, so it is compared without reading the rest; SET replaces the row and its expiry whole.
    private const string WriteScript = """
        local stored = redis.call('GET', KEYS[1])
        if stored then
          local storedEvent, storedCreated = string.match(stored, '^(%-?%d+):(%-?%d+):')
          local event = tonumber(ARGV[1])
          if storedEvent and (tonumber(storedEvent) > event
              or (tonumber(storedEvent) == event and tonumber(storedCreated) >= tonumber(ARGV[2]))) then
            return 0
          end
        end
        if ARGV[3] == '0' then
          redis.call('SET', KEYS[1], ARGV[4])
        else
          redis.call('SET', KEYS[1], ARGV[4], 'PXAT', ARGV[3])
        end
        return 1
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
    /// All the commands go to Redis together: one MGET per view, in one round trip.
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
        var keys = OnlineKeys.ForEach([.. features.Select(feature => feature.View)], entities, nameof(entities));

        // One MGET per view, sent together.
        var batch = redis.GetDatabase().CreateBatch();
        var replies = keys.Select(viewKeys => batch.StringGetAsync(Array.ConvertAll(viewKeys, key => (RedisKey)key))).ToArray();
        batch.Execute();
        await Task.WhenAll(replies).WaitAsync(cancellationToken);

        var names = new List<string>();
        var results = new List<OnlineFeatureResult>();
        for (var v = 0; v < features.Count; v++)
        {
            var (view, featureNames) = (features[v].View, features[v].Features);
            var values = NewRows<ReadOnlyMemory<byte>>(featureNames.Count, entities.Count);
            var statuses = NewRows<FeatureStatus>(featureNames.Count, entities.Count);
            // A row's features share its event time, so a view's results share one list of them.
            var eventTimes = new DateTimeOffset?[entities.Count];
            var statusCounts = new long[StatusNames.Length];
            byte[][] wanted = [.. featureNames.Select(System.Text.Encoding.UTF8.GetBytes)];
            var found = new ReadOnlyMemory<byte>[featureNames.Count];
            for (var e = 0; e < entities.Count; e++)
            {
                (var rowStatus, eventTimes[e]) = ReadRow(view, replies[v].Result[e], now, wanted, found);
                for (var f = 0; f < featureNames.Count; f++)
                {
                    var status = rowStatus == FeatureStatus.Present && found[f].IsEmpty ? FeatureStatus.Null : rowStatus;
                    values[f][e] = status == FeatureStatus.Present ? found[f] : default;
                    statuses[f][e] = status;
                    statusCounts[(int)status]++;
                }
            }

            var sharedTimes = new EventTimeList(eventTimes);
            for (var f = 0; f < featureNames.Count; f++)
            {
                names.Add($"{view.Name}:{featureNames[f]}");
                results.Add(new OnlineFeatureResult(new StoredValueList(values[f]), statuses[f], sharedTimes));
            }

            CountValues(view, statusCounts);
        }

        OnlineTelemetry.ReadDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        return new OnlineFeatureTable(new OnlineFeatureMetadata(names), results);
    }

    private static RedisValue[] WriteArguments(OnlineView view, OnlineRow row)
    {
        var (eventTime, createdTime) = (UnixMicroseconds(row.EventTimestamp), row.CreatedTimestamp is { } created ? UnixMicroseconds(created) : 0);
        var expiresAt = view.Ttl == TimeSpan.Zero
            ? 0
            // Unix ms, rounded up so the row never goes before its event time + 2 × TTL.
            : (eventTime + 2 * (view.Ttl.Ticks / TimeSpan.TicksPerMicrosecond) + 999) / 1000;
        var values = row.Values.Where(value => !OnlineValues.IsNull(value.Value))
            .Select(value => (value.Key, OnlineValues.Encode(value.Key, value.Value!)))
            .ToList();
        return [eventTime, createdTime, expiresAt, OnlineRecord.Encode(eventTime, createdTime, values)];
    }

    // A stored row's status by its event time (not found, outside its max age, or present), and its values in found.
    private static (FeatureStatus Status, DateTimeOffset? EventTime) ReadRow(
        OnlineView view, RedisValue stored, long now, byte[][] features, ReadOnlyMemory<byte>[] found)
    {
        if (stored.IsNull)
        {
            return (FeatureStatus.NotFound, null);
        }

        if (!OnlineRecord.TryRead((ReadOnlyMemory<byte>)stored, out var eventTime, out var values))
        {
            throw new InvalidDataException($"The online store holds a row of feature view '{view.Name}' it cannot read.");
        }

        var ttl = view.Ttl.Ticks / TimeSpan.TicksPerMicrosecond;
        if (ttl > 0 && now - eventTime > ttl)
        {
            return (FeatureStatus.OutsideMaxAge, FromUnixMicroseconds(eventTime));
        }

        OnlineRecord.Read(values, features, found);
        return (FeatureStatus.Present, FromUnixMicroseconds(eventTime));
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
