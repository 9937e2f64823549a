using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using ModelPlatform.Features.Online;
using ModelPlatform.TestSupport;
using NSubstitute;
using StackExchange.Redis;

namespace ModelPlatform.Features.Tests;

public sealed class OnlineStoreTests : IClassFixture<RedisConnectionFixture>
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    // Whole seconds, so expiry times in milliseconds come out exact; and close to the real time, because Redis expires
    // keys by its own clock. The store's clock is a fake one the tests move forward.
    private readonly RedisConnectionFixture _fixture;
    private readonly DateTimeOffset _now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    private readonly FakeTimeProvider _clock;
    private readonly IDatabase _redis;
    private readonly OnlineStore _store;

    // Each test's views have names of their own, so no test sees another's rows.
    private readonly string _viewPrefix = $"t{Guid.NewGuid():N}"[..9];

    public OnlineStoreTests(RedisConnectionFixture fixture)
    {
        _fixture = fixture;
        _clock = new FakeTimeProvider(_now);
        _redis = fixture.Redis.GetDatabase();
        _store = new OnlineStore(fixture.Redis, _clock);
    }

    [Fact]
    public async Task NewerRowReplacesOlderOne()
    {
        var view = DriverView();
        await _store.WriteAsync(view, [Row(1, _now.AddMinutes(-10), rate: 0.1)]);

        var counts = await _store.WriteAsync(view, [Row(1, _now.AddMinutes(-5), rate: 0.2)]);

        Assert.Equal(new MaterializeCounts(Written: 1, Skipped: 0), counts);
        var (value, status) = await ReadOneAsync(view, "rate", 1);
        Assert.Equal(FeatureStatus.Present, status);
        Assert.Equal(0.2, value);
    }

    [Fact]
    public async Task OlderRowIsSkipped()
    {
        var view = DriverView();
        await _store.WriteAsync(view, [Row(1, _now.AddMinutes(-5), rate: 0.2)]);

        var later = await _store.WriteAsync(view, [Row(1, _now.AddMinutes(-10), rate: 0.1)]);
        var sameBatch = await _store.WriteAsync(view, [Row(2, _now.AddMinutes(-5), rate: 0.5), Row(2, _now.AddMinutes(-6), rate: 0.6)]);

        Assert.Equal(new MaterializeCounts(Written: 0, Skipped: 1), later);
        Assert.Equal(new MaterializeCounts(Written: 1, Skipped: 1), sameBatch);
        Assert.Equal(0.2, (await ReadOneAsync(view, "rate", 1)).Value);
        Assert.Equal(0.5, (await ReadOneAsync(view, "rate", 2)).Value);
    }

    [Fact]
    public async Task EqualEventTimesAreSettledByCreatedTime()
    {
        var view = DriverView();
        var eventTime = _now.AddMinutes(-5);
        await _store.WriteAsync(view, [Row(1, eventTime, rate: 0.1, created: _now.AddMinutes(-4))]);

        var recreated = await _store.WriteAsync(view, [Row(1, eventTime, rate: 0.2, created: _now.AddMinutes(-3))]);
        var createdEarlier = await _store.WriteAsync(view, [Row(1, eventTime, rate: 0.3, created: _now.AddMinutes(-4))]);
        var notCreated = await _store.WriteAsync(view, [Row(1, eventTime, rate: 0.4)]);

        Assert.Equal(new MaterializeCounts(Written: 1, Skipped: 0), recreated);
        Assert.Equal(new MaterializeCounts(Written: 0, Skipped: 1), createdEarlier);
        Assert.Equal(new MaterializeCounts(Written: 0, Skipped: 1), notCreated);
        Assert.Equal(0.2, (await ReadOneAsync(view, "rate", 1)).Value);
    }

    [Fact]
    public async Task ReplayingRowsChangesNothing()
    {
        var view = DriverView();
        OnlineRow[] rows = [.. Enumerable.Range(1, 5).Select(driver => Row(driver, _now.AddMinutes(-driver), rate: driver / 10.0, _now))];
        await _store.WriteAsync(view, rows);
        var before = await SnapshotAsync(view, 1, 5);

        var replay = await _store.WriteAsync(view, rows);

        Assert.Equal(new MaterializeCounts(Written: 0, Skipped: 5), replay);
        Assert.Equal(before, await SnapshotAsync(view, 1, 5));
    }

    [Fact]
    public async Task FeaturesMissingFromANewerRowDoNotLinger()
    {
        var view = DriverView();
        await _store.WriteAsync(view, [Row(1, _now.AddMinutes(-10), ("rate", 0.1), ("trips", 12), ("city", "Oslo"))]);

        await _store.WriteAsync(view, [Row(1, _now.AddMinutes(-5), ("rate", 0.2), ("trips", null))]);

        var stored = (string)(await _redis.StringGetAsync(OnlineKeys.For(view, Driver(1))))!;
        Assert.EndsWith(""":0:{"rate":"d:0.2"}""", stored);
        var table = await _store.ReadAsync([new(view, ["rate", "trips", "city"])], [Driver(1)]);
        Assert.Equal([FeatureStatus.Present, FeatureStatus.Null, FeatureStatus.Null], table.Results.Select(result => result.Statuses[0]));
    }

    [Fact]
    public async Task ExpiryIsEventTimePlusTwoTtlsAndMovesOnlyWithNewerRows()
    {
        var view = DriverView(ttl: Hour);
        var first = _now.AddMinutes(-30);
        await _store.WriteAsync(view, [Row(1, first, rate: 0.1)]);
        var afterFirst = await ExpireTimeAsync(view, 1);

        await _store.WriteAsync(view, [Row(1, _now.AddMinutes(-40), rate: 0.0)]);
        var afterOlder = await ExpireTimeAsync(view, 1);

        var newer = _now.AddMinutes(-20).AddTicks(4321); // not a whole millisecond: rounded up
        await _store.WriteAsync(view, [Row(1, newer, rate: 0.2)]);
        var afterNewer = await ExpireTimeAsync(view, 1);

        Assert.Equal((first + 2 * Hour).ToUnixTimeMilliseconds(), afterFirst);
        Assert.Equal(afterFirst, afterOlder);
        Assert.Equal((_now.AddMinutes(-20) + 2 * Hour).ToUnixTimeMilliseconds() + 1, afterNewer);
    }

    [Fact]
    public async Task ZeroTtlKeepsRowsForeverAndFresh()
    {
        var withTtl = DriverView(ttl: Hour);
        var withoutTtl = DriverView(ttl: TimeSpan.Zero);
        await _store.WriteAsync(withTtl, [Row(1, _now.AddMinutes(-10), rate: 0.1)]);

        await _store.WriteAsync(withoutTtl, [Row(1, _now.AddMinutes(-5), rate: 0.2)]);
        _clock.Advance(TimeSpan.FromDays(1000));

        var (value, status) = await ReadOneAsync(withoutTtl, "rate", 1);

        Assert.Equal(-1, (long)await _redis.ExecuteAsync("PTTL", OnlineKeys.For(withoutTtl, Driver(1))));
        Assert.Equal(FeatureStatus.Present, status);
        Assert.Equal(0.2, value);
    }

    [Fact]
    public async Task ReadReportsEachStatus()
    {
        var view = DriverView(ttl: Hour);
        var fresh = _now.AddMinutes(31);
        var stale = _now.AddMinutes(-30);
        await _store.WriteAsync(view, [Row(1, fresh, rate: 0.5), Row(2, fresh, rate: null), Row(4, stale, rate: 0.9)]);
        _clock.Advance(TimeSpan.FromMinutes(61));

        var table = await _store.ReadAsync([new(view, ["rate"])], [Driver(1), Driver(2), Driver(3), Driver(4)]);

        var result = table[$"{view.Name}:rate"];
        Assert.Equal([FeatureStatus.Present, FeatureStatus.Null, FeatureStatus.NotFound, FeatureStatus.OutsideMaxAge], result.Statuses);
        Assert.Equal(new object?[] { 0.5, null, null, null }, result.Values);
        Assert.Equal(new DateTimeOffset?[] { fresh, fresh, null, stale }, result.EventTimestamps);
    }

    [Fact]
    public async Task ValueExactlyTtlOldIsPresentAndOneMicrosecondOlderIsNot()
    {
        var view = DriverView(ttl: Hour);
        await _store.WriteAsync(view, [Row(1, _now, rate: 0.5)]);

        _clock.Advance(Hour);
        var atTtl = await ReadOneAsync(view, "rate", 1);
        _clock.Advance(TimeSpan.FromMicroseconds(1));
        var pastTtl = await ReadOneAsync(view, "rate", 1);

        Assert.Equal(FeatureStatus.Present, atTtl.Status);
        Assert.Equal(FeatureStatus.OutsideMaxAge, pastTtl.Status);
        Assert.Null(pastTtl.Value);
    }

    [Fact]
    public async Task EntitiesWithSeveralJoinKeysAreKeyedInTheViewsOrder()
    {
        var view = new OnlineView($"{_viewPrefix}_trips", ["driver_id", "rider_id"], Hour);
        OnlineRow Trip(object driver, object rider, string value) =>
            new(new Dictionary<string, object?> { ["driver_id"] = driver, ["rider_id"] = rider }, new Dictionary<string, object?> { ["v"] = value }, _now);
        await _store.WriteAsync(view, [Trip(1, 2, "1,2"), Trip(2, 1, "2,1"), Trip("x:y", "z", "x:y,z"), Trip("x", "y:z", "x,y:z"), Trip(@"a\", "b", @"a\,b")]);

        // Keys in any order, with other keys beside them.
        IReadOnlyDictionary<string, object?>[] entities =
        [
            new Dictionary<string, object?> { ["rider_id"] = 2, ["driver_id"] = 1, ["city"] = "Oslo" },
            new Dictionary<string, object?> { ["rider_id"] = 1, ["driver_id"] = 2 },
            new Dictionary<string, object?> { ["driver_id"] = "x:y", ["rider_id"] = "z" },
            new Dictionary<string, object?> { ["driver_id"] = "x", ["rider_id"] = "y:z" },
            new Dictionary<string, object?> { ["driver_id"] = @"a\", ["rider_id"] = "b" },
            new Dictionary<string, object?> { ["driver_id"] = "a", ["rider_id"] = @"\b" },
        ];
        var table = await _store.ReadAsync([new(view, ["v"])], entities);

        Assert.Equal(new object?[] { "1,2", "2,1", "x:y,z", "x,y:z", @"a\,b", null }, table.Results[0].Values);
        Assert.Equal($"features:{view.Name}:1:2", OnlineKeys.For(view, entities[0]));
        Assert.Equal($@"features:{view.Name}:x\:y:z", OnlineKeys.For(view, entities[2]));
        Assert.Equal($@"features:{view.Name}:a\\:b", OnlineKeys.For(view, entities[4]));
    }

    [Fact]
    public void NumericJoinKeysHaveOneCanonicalForm()
    {
        object[] fortyTwo = [42, 42L, (short)42, (ulong)42, 42.0, 42.0f, 42m, 42.00m, "42", Json("42"), Json("42.0"), Json("4.2e1"), Json("\"42\"")];

        Assert.All(fortyTwo, form => Assert.Equal("42", OnlineKeys.CanonicalText(form)));
        Assert.Equal("0.5", OnlineKeys.CanonicalText(Json("0.50")));
        Assert.Equal("0.1", OnlineKeys.CanonicalText(0.1));
        Assert.Equal("-7", OnlineKeys.CanonicalText(-7.0));
        Assert.Equal("0", OnlineKeys.CanonicalText(-0.0));
        Assert.Equal("1E+20", OnlineKeys.CanonicalText(1e20));
        Assert.Equal("9007199254740993", OnlineKeys.CanonicalText(9007199254740993L));
        Assert.Equal("9007199254740993", OnlineKeys.CanonicalText(Json("9007199254740993")));
        Assert.Null(OnlineKeys.CanonicalText(double.NaN));
        Assert.Null(OnlineKeys.CanonicalText(true));
        Assert.Null(OnlineKeys.CanonicalText(null));
    }

    [Fact]
    public async Task RowWrittenWithIntegerKeyIsReadWithJsonDecimalKey()
    {
        var view = DriverView();
        await _store.WriteAsync(view, [Row(42L, _now, rate: 0.5)]);

        var (value, status) = await ReadOneAsync(view, "rate", Json("42.0"));

        Assert.Equal(FeatureStatus.Present, status);
        Assert.Equal(0.5, value);
    }

    [Fact]
    public async Task EntityWithoutAJoinKeyIsRejectedByName()
    {
        var view = DriverView();

        var read = await Assert.ThrowsAsync<ArgumentException>(() =>
            _store.ReadAsync([new(view, ["rate"])], [Driver(1), new Dictionary<string, object?> { ["driverid"] = 2 }]));
        var write = await Assert.ThrowsAsync<ArgumentException>(() =>
            _store.WriteAsync(view, [new OnlineRow(new Dictionary<string, object?>(), new Dictionary<string, object?>(), _now)]));
        var nullKey = await Assert.ThrowsAsync<ArgumentException>(() => _store.ReadAsync([new(view, ["rate"])], [Driver(null)]));

        Assert.Contains("entities[1] has no value for join key 'driver_id'", read.Message);
        Assert.Contains("rows[0] has no value for join key 'driver_id'", write.Message);
        Assert.Contains("entities[0] has null for join key 'driver_id'", nullKey.Message);
    }

    [Fact]
    public async Task ValuesReadBackWithTheirTypes()
    {
        var view = DriverView();
        await _store.WriteAsync(view, [Row(1, _now,
            ("number", 0.1), ("integer", 7), ("huge", 1e300), ("nan", double.NaN), ("tagged", "d:3"), ("empty", ""), ("unicode", "Zürich 🚕"),
            ("yes", true), ("no", false), ("jsonNumber", Json("2.5")), ("jsonText", Json("\"b:true\"")), ("jsonFlag", Json("true")),
            ("jsonNull", Json("null")), ("dbNull", DBNull.Value))]);

        var table = await _store.ReadAsync(
            [new(view, ["number", "integer", "huge", "nan", "tagged", "empty", "unicode", "yes", "no",
                "jsonNumber", "jsonText", "jsonFlag", "jsonNull", "dbNull"])],
            [Driver(1)]);

        Assert.Equal(new object?[] { 0.1, 7.0, 1e300, double.NaN, "d:3", "", "Zürich 🚕", true, false, 2.5, "b:true", true, null, null },
            table.Results.Select(result => result.Values[0]));
        Assert.IsType<double>(table.Results[1].Values[0]);
        Assert.Equal(FeatureStatus.Null, table.Results[12].Statuses[0]);
    }

    [Fact]
    public async Task ValuesAreWrittenAsJsonStraightFromTheStoreAsTheyReadBack()
    {
        // The answer's JSON is written from the stored text, not from the decoded values: it must say what they say. The
        // unicode string and the one with quotes are stored escaped by the record's JSON, so they come back the slow way.
        var view = DriverView();
        (string Feature, object? Value)[] values =
        [
            ("number", 0.1), ("negative", -2.5e-7), ("huge", 1e300), ("tiny", double.Epsilon), ("nan", double.NaN),
            ("infinity", double.NegativeInfinity), ("text", "d:3"), ("empty", ""), ("unicode", "Zürich 🚕"), ("quoted", "say \"hi\"\n"),
            ("yes", true), ("no", false), ("none", null),
        ];
        await _store.WriteAsync(view, [Row(1, _now, values)]);
        var table = await _store.ReadAsync([new(view, [.. values.Select(value => value.Feature)])], [Driver(1), Driver(2)]);

        var written = JsonDocument.Parse(JsonSerializer.Serialize(table, JsonSerializerOptions.Web)).RootElement.GetProperty("results");

        // Strings by their text after "string:", everything else as it was written.
        Assert.Equal(
            ["0.1", "-2.5E-07", "1E+300", "5E-324", "null", "null", "string:d:3", "string:", "string:Zürich 🚕", "string:say \"hi\"\n",
                "true", "false", "null"],
            written.EnumerateArray().Select(result => result.GetProperty("values")[0])
                .Select(value => value.ValueKind == JsonValueKind.String ? "string:" + value.GetString() : value.GetRawText()));
        Assert.All(written.EnumerateArray(), result => Assert.Equal(JsonValueKind.Null, result.GetProperty("values")[1].ValueKind));
        var readBack = JsonSerializer.Deserialize<OnlineFeatureTable>(JsonSerializer.Serialize(table), JsonSerializerOptions.Web)!;
        Assert.Equal(
            table.Results.Select(result => result.Values[0] is double number && !double.IsFinite(number) ? null : result.Values[0]),
            readBack.Results.Select(result => result.Values[0]));
    }

    [Theory]
    [InlineData("d:{}")]
    [InlineData("d:1.5.2")]
    [InlineData("d:1 2")]
    [InlineData("d:")]
    [InlineData("x:1")]
    [InlineData("b:maybe")]
    public async Task AValueTheStoreDidNotWriteFailsTheAnswerByName(string stored)
    {
        var view = DriverView();
        var eventTime = (_now - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;
        await _redis.StringSetAsync(OnlineKeys.For(view, Driver(1)), $"{eventTime}:0:{{\"rate\":{JsonSerializer.Serialize(stored)}}}");
        var table = await _store.ReadAsync([new(view, ["rate"])], [Driver(1)]);

        var error = Assert.Throws<InvalidDataException>(() => JsonSerializer.Serialize(table));

        Assert.Contains($"cannot read as a tagged number, string or boolean: '{stored}'", error.Message);
    }

    [Fact]
    public async Task UnsupportedValueIsRejected()
    {
        var view = DriverView();

        var date = await Assert.ThrowsAsync<ArgumentException>(() => _store.WriteAsync(view, [Row(1, _now, ("signup", DateTime.UtcNow))]));

        Assert.Contains("Feature 'signup' has a value of type DateTime", date.Message);
    }

    [Fact]
    public async Task WritesSpanningSeveralFlushesStoreEveryRow()
    {
        var view = DriverView();
        var rows = Enumerable.Range(0, 2 * OnlineStore.RowsPerFlush + 500).Select(driver => Row(driver, _now, rate: driver)).ToList();
        // A connection of its own, which has not yet seen the write script run.
        using var connection = await ConnectionMultiplexer.ConnectAsync(_fixture.Server.ConnectionString);
        var store = new OnlineStore(connection, _clock);
        var scriptTextsBefore = await InfoNumberAsync("commandstats", "cmdstat_eval", "calls");

        var first = await store.WriteAsync(view, rows);
        var again = await store.WriteAsync(view, rows[^700..]);

        Assert.Equal(new MaterializeCounts(Written: 2500, Skipped: 0), first);
        Assert.Equal(new MaterializeCounts(Written: 0, Skipped: 700), again);
        // The script's text goes to Redis once; every other row names it by its hash (EVALSHA).
        Assert.Equal(1, await InfoNumberAsync("commandstats", "cmdstat_eval", "calls") - scriptTextsBefore);
        var table = await _store.ReadAsync([new(view, ["rate"])], [Driver(0), Driver(999), Driver(1000), Driver(2499)]);
        Assert.Equal(new object?[] { 0.0, 999.0, 1000.0, 2499.0 }, table.Results[0].Values);
    }

    [Fact]
    public async Task ReadsManyEntitiesAcrossSeveralViewsInOneRead()
    {
        const int Entities = 100;
        OnlineView[] views =
        [
            DriverView("profile"),
            DriverView("hourly"),
            new($"{_viewPrefix}_daily", ["driver_id", "day"], Hour),
        ];
        string[] features = [.. Enumerable.Range(0, 10).Select(feature => $"f{feature}")];
        foreach (var (view, v) in views.Select((view, v) => (view, v)))
        {
            await _store.WriteAsync(view, [.. Enumerable.Range(0, Entities).Select(entity => new OnlineRow(
                Entity(entity),
                features.Select((feature, f) => (feature, Expected(v, entity, f))).ToDictionary(pair => pair.feature, pair => (object?)pair.Item2),
                _now))]);
        }

        var table = await _store.ReadAsync(
            [.. views.Select(view => new OnlineFeatureRequest(view, features))],
            [.. Enumerable.Range(0, Entities).Select(Entity)]);

        Assert.Equal(views.SelectMany(view => features.Select(feature => $"{view.Name}:{feature}")), table.Metadata.Features);
        for (var v = 0; v < views.Length; v++)
        {
            for (var f = 0; f < features.Length; f++)
            {
                var result = table.Results[v * features.Length + f];
                Assert.Equal(Enumerable.Range(0, Entities).Select(entity => (object?)Expected(v, entity, f)), result.Values);
                Assert.All(result.Statuses, status => Assert.Equal(FeatureStatus.Present, status));
            }
        }

        static double Expected(int view, int entity, int feature) => view * 10_000 + entity * 100 + feature;
        static IReadOnlyDictionary<string, object?> Entity(int entity) => new Dictionary<string, object?> { ["driver_id"] = entity, ["day"] = "2026-11-28" };
    }

    [Fact]
    public async Task ReadSendsOneCommandPerView()
    {
        OnlineView[] views = [DriverView("a"), DriverView("b"), DriverView("c")];
        IReadOnlyDictionary<string, object?>[] entities = [.. Enumerable.Range(0, 100).Select(entity => Driver(entity))];
        var commandsBefore = await InfoNumberAsync("commandstats", "cmdstat_mget", "calls");

        await _store.ReadAsync([.. views.Select(view => new OnlineFeatureRequest(view, ["f0", "f1"]))], entities);

        Assert.Equal(views.Length, await InfoNumberAsync("commandstats", "cmdstat_mget", "calls") - commandsBefore);
    }

    /// <summary>
    /// Every command of a read is queued in one batch before any answer is awaited: no command waits for another's round
    /// trip. (How many socket reads the server needs for them depends on timing, so it is not what is checked.)
    /// </summary>
    [Fact]
    public async Task ReadQueuesEveryCommandInOneBatchBeforeAwaitingAny()
    {
        var sent = new TaskCompletionSource();
        var batch = Substitute.For<IBatch>();
        batch.StringGetAsync(Arg.Any<RedisKey[]>(), Arg.Any<CommandFlags>())
            .Returns(async call =>
            {
                // Answered only once the batch is sent: a read that awaited a command before queueing the next never ends.
                await sent.Task;
                return new RedisValue[call.ArgAt<RedisKey[]>(0).Length];
            });
        batch.When(b => b.Execute()).Do(_ => sent.TrySetResult());
        var database = Substitute.For<IDatabase>();
        database.CreateBatch(Arg.Any<object?>()).Returns(batch);
        var redis = Substitute.For<IConnectionMultiplexer>();
        redis.GetDatabase(Arg.Any<int>(), Arg.Any<object?>()).Returns(database);
        OnlineView[] views = [DriverView("a"), DriverView("b")];

        var table = await new OnlineStore(redis, _clock)
            .ReadAsync([.. views.Select(view => new OnlineFeatureRequest(view, ["f0"]))], [Driver(1), Driver(2), Driver(3)])
            .WaitAsync(TimeSpan.FromSeconds(30));

        batch.Received(1).Execute();
        Assert.Equal(2, batch.ReceivedCalls().Count(call => call.GetMethodInfo().Name == nameof(IBatch.StringGetAsync)));
        Assert.All(table.Results.SelectMany(result => result.Statuses), status => Assert.Equal(FeatureStatus.NotFound, status));
    }

    [Fact]
    public async Task TableSerialisesInFeastsShape()
    {
        var view = DriverView(ttl: Hour);
        await _store.WriteAsync(view, [Row(1, _now, rate: 0.5)]);

        var table = await _store.ReadAsync([new(view, ["rate"])], [Driver(1), Driver(2)]);
        var json = JsonDocument.Parse(JsonSerializer.Serialize(table, JsonSerializerOptions.Web)).RootElement;

        Assert.Equal($"{view.Name}:rate", json.GetProperty("metadata").GetProperty("features")[0].GetString());
        var result = json.GetProperty("results")[0];
        Assert.Equal("[0.5,null]", result.GetProperty("values").GetRawText());
        Assert.Equal("""["present","not_found"]""", result.GetProperty("statuses").GetRawText());
        Assert.Equal(_now, result.GetProperty("eventTimestamps")[0].GetDateTimeOffset());
        Assert.EndsWith("Z", result.GetProperty("eventTimestamps")[0].GetString());
        Assert.Equal(JsonValueKind.Null, result.GetProperty("eventTimestamps")[1].ValueKind);
        var readBack = JsonSerializer.Deserialize<OnlineFeatureTable>(json.GetRawText(), JsonSerializerOptions.Web)!.Results[0];
        Assert.Equal([0.5, null], readBack.Values);
        Assert.Equal([FeatureStatus.Present, FeatureStatus.NotFound], readBack.Statuses);
        Assert.Equal([_now, null], readBack.EventTimestamps);
    }

    [Fact]
    public void FeatureReferencesAreGroupedByView()
    {
        var drivers = new OnlineView("drivers", ["driver_id"], Hour);
        var riders = new OnlineView("riders", ["rider_id"], Hour);
        OnlineView? Find(string name) => new[] { drivers, riders }.FirstOrDefault(view => view.Name == name);

        var requests = OnlineFeatureRequest.FromReferences(["drivers:rate", "riders:age", "drivers:trips", "drivers:rate"], Find);

        Assert.Equal([drivers, riders], requests.Select(request => request.View));
        Assert.Equal(["rate", "trips"], requests[0].Features);
        Assert.Equal(["age"], requests[1].Features);
        Assert.Throws<ArgumentException>(() => OnlineFeatureRequest.FromReferences(["cars:speed"], Find));
        Assert.Throws<ArgumentException>(() => OnlineFeatureRequest.FromReferences(["drivers"], Find));
    }

    [Fact]
    public async Task WritesAndReadsAreCountedByViewAndStatus()
    {
        var view = DriverView();
        var counted = new Dictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == OnlineTelemetry.Name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, measurement, tags, _) =>
        {
            var tagList = tags.ToArray();
            if (tagList.Any(tag => tag.Key == "feature_view" && Equals(tag.Value, view.Name)))
            {
                var status = tagList.FirstOrDefault(tag => tag.Key == "status").Value;
                var name = status is null ? instrument.Name : $"{instrument.Name}:{status}";
                lock (counted)
                {
                    counted[name] = counted.GetValueOrDefault(name) + measurement;
                }
            }
        });
        listener.Start();

        await _store.WriteAsync(view, [Row(1, _now, rate: 0.1), Row(2, _now, rate: 0.2)]);
        await _store.WriteAsync(view, [Row(1, _now, rate: 0.1)]);
        await _store.ReadAsync([new(view, ["rate"])], [Driver(1), Driver(2), Driver(3)]);

        Assert.Equal(2, counted["modelplatform.features.online.rows.written"]);
        Assert.Equal(1, counted["modelplatform.features.online.rows.skipped"]);
        Assert.Equal(2, counted["modelplatform.features.online.values:present"]);
        Assert.Equal(1, counted["modelplatform.features.online.values:not_found"]);
    }

    private OnlineView DriverView(string name = "drivers", TimeSpan? ttl = null) => new($"{_viewPrefix}_{name}", ["driver_id"], ttl ?? Hour);

    private static Dictionary<string, object?> Driver(object? id) => new() { ["driver_id"] = id };

    private static OnlineRow Row(object driver, DateTimeOffset eventTime, object? rate, DateTimeOffset? created = null) =>
        new(Driver(driver), new Dictionary<string, object?> { ["rate"] = rate }, eventTime, created);

    private static OnlineRow Row(object driver, DateTimeOffset eventTime, params (string Feature, object? Value)[] values) =>
        new(Driver(driver), values.ToDictionary(pair => pair.Feature, pair => pair.Value), eventTime);

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private async Task<(object? Value, FeatureStatus Status)> ReadOneAsync(OnlineView view, string feature, object driver)
    {
        var result = (await _store.ReadAsync([new(view, [feature])], [Driver(driver)])).Results[0];
        return (result.Values[0], result.Statuses[0]);
    }

    private async Task<long> ExpireTimeAsync(OnlineView view, object driver) =>
        (long)await _redis.ExecuteAsync("PEXPIRETIME", OnlineKeys.For(view, Driver(driver)));

    // Each row as stored, and when it expires.
    private async Task<string> SnapshotAsync(OnlineView view, int firstDriver, int lastDriver)
    {
        var rows = new List<string>();
        for (var driver = firstDriver; driver <= lastDriver; driver++)
        {
            rows.Add($"{await _redis.StringGetAsync(OnlineKeys.For(view, Driver(driver)))} expires {await ExpireTimeAsync(view, driver)}");
        }

        return string.Join('\n', rows);
    }

    // A number from INFO: "name:value" lines, or "name:key=value,key=value" when a key is given.
    private async Task<long> InfoNumberAsync(string section, string name, string? key = null)
    {
        var info = (string)(await _redis.ExecuteAsync("INFO", section))!;
        var line = info.Split("\r\n").FirstOrDefault(line => line.StartsWith(name + ":", StringComparison.Ordinal));
        if (line is null)
        {
            return 0; // commandstats lists a command only once it has run
        }

        var value = line[(name.Length + 1)..];
        if (key is not null)
        {
            value = value.Split(',').Select(pair => pair.Split('=')).First(pair => pair[0] == key)[1];
        }

        return long.Parse(value, CultureInfo.InvariantCulture);
    }
}
