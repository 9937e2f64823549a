using System.Globalization;
using CsCheck;
using DuckDB.NET.Data;
using ModelPlatform.Feature.Offline;

namespace ModelPlatform.Feature.Tests;

/// <summary>
/// The point-in-time join on small Parquet tables written from VALUES, each output compared whole with a table worked
/// out by hand (values as DuckDB prints them, NULL for null), then against a plain C# statement of the rule on generated tables.
/// </summary>
public sealed class PointInTimeJoinTests : IDisposable
{
    private static readonly TimeSpan Unlimited = TimeSpan.Zero;

    private readonly string _folder = Directory.CreateTempSubdirectory("pit-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Output => Path.Combine(_folder, "out.parquet");

    private string Scratch => Directory.CreateDirectory(Path.Combine(_folder, "scratch")).FullName;

    [Fact]
    public async Task EntityRowAtTheSameInstantAsAFeatureRowTakesIt()
    {
        var entities = Parquet("entities", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-10 12:00:00'))
            AS t(customer_id, event_timestamp)
            """);
        var spend = Parquet("spend", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-09 12:00:00', 5.0),
                (1, TIMESTAMP '2025-01-10 12:00:00', 10.0),
                (1, TIMESTAMP '2025-01-10 12:00:00.000001', 99.0))
            AS t(customer_id, event_timestamp, amount)
            """);

        await JoinAsync(entities, View("spend", spend, Unlimited, "amount"));

        Assert.Equal(
            [
                "customer_id | event_timestamp | spend__amount",
                "1 | 2025-01-10 12:00:00 | 10.0",
            ],
            ReadTable(Output));
    }

    [Fact]
    public async Task TtlBoundaryIsInclusiveAndOneMicrosecondPastItIsTooOld()
    {
        var entities = Parquet("entities", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-10 12:00:00'),
                (2, TIMESTAMP '2025-01-10 12:00:00'))
            AS t(customer_id, event_timestamp)
            """);
        var spend = Parquet("spend", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-09 12:00:00', 1.0),
                (2, TIMESTAMP '2025-01-09 11:59:59.999999', 2.0))
            AS t(customer_id, event_timestamp, amount)
            """);

        await JoinAsync(entities, View("spend", spend, TimeSpan.FromDays(1), "amount"));

        Assert.Equal(
            [
                "customer_id | event_timestamp | spend__amount",
                "1 | 2025-01-10 12:00:00 | 1.0",
                "2 | 2025-01-10 12:00:00 | NULL",
            ],
            ReadTable(Output));
    }

    [Fact]
    public async Task RowWrittenAfterTheEntityTimeStillCountsBecauseTheRuleIsOnEventTime()
    {
        var entities = Parquet("entities", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-10 12:00:00'))
            AS t(customer_id, event_timestamp)
            """);
        var spend = Parquet("spend", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-09 00:00:00', TIMESTAMP '2025-01-09 00:00:00', 3.0),
                (1, TIMESTAMP '2025-01-10 09:00:00', TIMESTAMP '2025-01-11 00:00:00', 7.0))
            AS t(customer_id, event_timestamp, created, amount)
            """);

        await JoinAsync(entities, View("spend", spend, Unlimited, "amount") with { CreatedTimestamp = "created" });

        Assert.Equal(
            [
                "customer_id | event_timestamp | spend__amount",
                "1 | 2025-01-10 12:00:00 | 7.0",
            ],
            ReadTable(Output));
    }

    [Fact]
    public async Task CreatedTimestampDecidesBetweenEqualEventTimestamps()
    {
        // Customer 1: the later created row is read first. Customer 2: a row without a created timestamp loses to one with.
        var entities = Parquet("entities", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-10 12:00:00'),
                (2, TIMESTAMP '2025-01-10 12:00:00'))
            AS t(customer_id, event_timestamp)
            """);
        var spend = Parquet("spend", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-10 09:00:00', TIMESTAMP '2025-01-10 11:00:00', 2.0),
                (1, TIMESTAMP '2025-01-10 09:00:00', TIMESTAMP '2025-01-10 10:00:00', 1.0),
                (2, TIMESTAMP '2025-01-10 09:00:00', TIMESTAMP '2025-01-10 10:00:00', 4.0),
                (2, TIMESTAMP '2025-01-10 09:00:00', NULL, 5.0))
            AS t(customer_id, event_timestamp, created, amount)
            """);

        await JoinAsync(entities, View("spend", spend, Unlimited, "amount") with { CreatedTimestamp = "created" });

        Assert.Equal(
            [
                "customer_id | event_timestamp | spend__amount",
                "1 | 2025-01-10 12:00:00 | 2.0",
                "2 | 2025-01-10 12:00:00 | 4.0",
            ],
            ReadTable(Output));
    }

    [Fact]
    public async Task RowsEqualInKeysAndBothTimestampsGoToTheOneReadLast()
    {
        // Customer 1: twice in the first file, the later row wins. Customer 2: once in each file, the later file wins.
        var entities = Parquet("entities", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-10 12:00:00'),
                (2, TIMESTAMP '2025-01-10 12:00:00'))
            AS t(customer_id, event_timestamp)
            """);
        var first = Parquet("spend-1", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-10 09:00:00', TIMESTAMP '2025-01-10 10:00:00', 1.0),
                (1, TIMESTAMP '2025-01-10 09:00:00', TIMESTAMP '2025-01-10 10:00:00', 2.0),
                (2, TIMESTAMP '2025-01-10 09:00:00', TIMESTAMP '2025-01-10 10:00:00', 3.0))
            AS t(customer_id, event_timestamp, created, amount)
            """);
        var second = Parquet("spend-2", """
            SELECT * FROM (VALUES
                (2, TIMESTAMP '2025-01-10 09:00:00', TIMESTAMP '2025-01-10 10:00:00', 4.0))
            AS t(customer_id, event_timestamp, created, amount)
            """);

        await JoinAsync(entities, new FeatureViewSource("spend", [first, second], ["customer_id"], "event_timestamp", "created", Unlimited, ["amount"]));

        Assert.Equal(
            [
                "customer_id | event_timestamp | spend__amount",
                "1 | 2025-01-10 12:00:00 | 2.0",
                "2 | 2025-01-10 12:00:00 | 4.0",
            ],
            ReadTable(Output));
    }

    [Fact]
    public async Task NullInTheLatestRowStaysNullRatherThanTakingAnOlderValue()
    {
        var entities = Parquet("entities", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-10 12:00:00'))
            AS t(customer_id, event_timestamp)
            """);
        var spend = Parquet("spend", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-08 00:00:00', 1.0, 10.0),
                (1, TIMESTAMP '2025-01-09 00:00:00', NULL, 20.0))
            AS t(customer_id, event_timestamp, amount, visits)
            """);

        await JoinAsync(entities, View("spend", spend, Unlimited, "amount", "visits"));

        Assert.Equal(
            [
                "customer_id | event_timestamp | spend__amount | spend__visits",
                "1 | 2025-01-10 12:00:00 | NULL | 20.0",
            ],
            ReadTable(Output));
    }

    [Fact]
    public async Task EntitiesWithoutFeatureRowsKeepTheirRowWithNulls()
    {
        var entities = Parquet("entities", """
            SELECT * FROM (VALUES
                (42, TIMESTAMP '2025-01-10 12:00:00', 'x'),
                (1, TIMESTAMP '2025-01-10 12:00:00', 'y'),
                (NULL, TIMESTAMP '2025-01-10 12:00:00', 'z'),
                (1, NULL, 'w'))
            AS t(customer_id, event_timestamp, label)
            """);
        var spend = Parquet("spend", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-01 00:00:00', 1.0),
                (NULL, TIMESTAMP '2025-01-01 00:00:00', 9.0))
            AS t(customer_id, event_timestamp, amount)
            """);

        await JoinAsync(entities, View("spend", spend, Unlimited, "amount"));

        Assert.Equal(
            [
                "customer_id | event_timestamp | label | spend__amount",
                "42 | 2025-01-10 12:00:00 | x | NULL",
                "1 | 2025-01-10 12:00:00 | y | 1.0",
                "NULL | 2025-01-10 12:00:00 | z | NULL",
                "1 | NULL | w | NULL",
            ],
            ReadTable(Output));
    }

    [Fact]
    public async Task ViewWithSeveralKeysMatchesOnAllOfThem()
    {
        var entities = Parquet("entities", """
            SELECT * FROM (VALUES
                (1, 'm1', TIMESTAMP '2025-01-10 12:00:00'),
                (1, 'm2', TIMESTAMP '2025-01-10 12:00:00'),
                (2, 'm1', TIMESTAMP '2025-01-10 12:00:00'))
            AS t(customer_id, merchant_id, event_timestamp)
            """);
        var pairs = Parquet("pairs", """
            SELECT * FROM (VALUES
                ('m1', 1, TIMESTAMP '2025-01-05 00:00:00', 10.0),
                ('m2', 1, TIMESTAMP '2025-01-06 00:00:00', 20.0),
                ('m2', 2, TIMESTAMP '2025-01-07 00:00:00', 30.0))
            AS t(merchant_id, customer_id, event_timestamp, total)
            """);

        await JoinAsync(entities,
            new FeatureViewSource("pairs", [pairs], ["customer_id", "merchant_id"], "event_timestamp", null, Unlimited, ["total"]));

        Assert.Equal(
            [
                "customer_id | merchant_id | event_timestamp | pairs__total",
                "1 | m1 | 2025-01-10 12:00:00 | 10.0",
                "1 | m2 | 2025-01-10 12:00:00 | 20.0",
                "2 | m1 | 2025-01-10 12:00:00 | NULL",
            ],
            ReadTable(Output));
    }

    [Fact]
    public async Task SeveralViewsWithDifferentTtlsJoinTogether()
    {
        var entities = Parquet("entities", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-02-01 12:00:00', 0),
                (2, TIMESTAMP '2025-02-01 12:00:00', 1))
            AS t(customer_id, event_timestamp, label)
            """);
        var hourly = Parquet("hourly", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-02-01 11:30:00', 1.0),
                (2, TIMESTAMP '2025-02-01 10:00:00', 2.0))
            AS t(customer_id, ts, value)
            """);
        var weekly = Parquet("weekly", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-20 00:00:00', 10.0, 11.0),
                (2, TIMESTAMP '2025-01-30 00:00:00', 20.0, 21.0))
            AS t(customer_id, ts, value, other)
            """);
        var lifetime = Parquet("lifetime", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2015-01-01 00:00:00', 100.0))
            AS t(customer_id, ts, value)
            """);

        await JoinAsync(entities,
            View("hourly", hourly, TimeSpan.FromHours(1), "value") with { EventTimestamp = "ts" },
            View("weekly", weekly, TimeSpan.FromDays(7), "other", "value") with { EventTimestamp = "ts" },
            View("lifetime", lifetime, Unlimited, "value") with { EventTimestamp = "ts" });

        Assert.Equal(
            [
                "customer_id | event_timestamp | label | hourly__value | weekly__other | weekly__value | lifetime__value",
                "1 | 2025-02-01 12:00:00 | 0 | 1.0 | NULL | NULL | 100.0",
                "2 | 2025-02-01 12:00:00 | 1 | NULL | 21.0 | 20.0 | NULL",
            ],
            ReadTable(Output));
    }

    [Fact]
    public async Task DuplicateEntityRowsEachKeepTheirPlace()
    {
        var entities = Parquet("entities", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-10 00:00:00', 'a'),
                (1, TIMESTAMP '2025-01-10 00:00:00', 'a'),
                (2, TIMESTAMP '2025-01-03 00:00:00', 'b'),
                (1, TIMESTAMP '2025-01-10 00:00:00', 'a'),
                (1, TIMESTAMP '2025-01-03 00:00:00', 'a'))
            AS t(customer_id, event_timestamp, label)
            """);
        var spend = Parquet("spend", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-02 00:00:00', 1.0),
                (1, TIMESTAMP '2025-01-05 00:00:00', 2.0),
                (2, TIMESTAMP '2025-01-02 00:00:00', 3.0))
            AS t(customer_id, event_timestamp, amount)
            """);

        var result = await JoinAsync(entities, View("spend", spend, Unlimited, "amount"));

        Assert.Equal(5, result.Rows);
        Assert.Equal(
            [
                "customer_id | event_timestamp | label | spend__amount",
                "1 | 2025-01-10 00:00:00 | a | 2.0",
                "1 | 2025-01-10 00:00:00 | a | 2.0",
                "2 | 2025-01-03 00:00:00 | b | 3.0",
                "1 | 2025-01-10 00:00:00 | a | 2.0",
                "1 | 2025-01-03 00:00:00 | a | 1.0",
            ],
            ReadTable(Output));
    }

    [Fact]
    public async Task EntityRowBeforeAnyFeatureRowGetsNullsAndZeroTtlReachesBackAnyDistance()
    {
        var entities = Parquet("entities", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-01 00:00:00'),
                (2, TIMESTAMP '2025-01-01 00:00:00'))
            AS t(customer_id, event_timestamp)
            """);
        var spend = Parquet("spend", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-01 00:00:00.000001', 1.0),
                (2, TIMESTAMP '1995-01-01 00:00:00', 2.0))
            AS t(customer_id, event_timestamp, amount)
            """);

        await JoinAsync(entities, View("spend", spend, Unlimited, "amount"));

        Assert.Equal(
            [
                "customer_id | event_timestamp | spend__amount",
                "1 | 2025-01-01 00:00:00 | NULL",
                "2 | 2025-01-01 00:00:00 | 2.0",
            ],
            ReadTable(Output));
    }

    [Fact]
    public async Task TimestampsWithAndWithoutTimeZoneCompareAsTheSameUtcInstant()
    {
        // 14:00 at +02 is 12:00 UTC: the view's plain 12:00 matches, and its 12:00:00.000001 (a time-zone column) is later.
        var entities = Parquet("entities", """
            SELECT * FROM (VALUES
                (1, TIMESTAMPTZ '2025-01-10 14:00:00+02'))
            AS t(customer_id, event_timestamp)
            """);
        var plain = Parquet("plain", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-10 11:00:00', 1.0),
                (1, TIMESTAMP '2025-01-10 12:00:00', 2.0))
            AS t(customer_id, event_timestamp, amount)
            """);
        var zoned = Parquet("zoned", """
            SELECT * FROM (VALUES
                (1, TIMESTAMPTZ '2025-01-10 11:00:00+00', 3.0),
                (1, TIMESTAMPTZ '2025-01-10 12:00:00.000001+00', 4.0))
            AS t(customer_id, event_timestamp, amount)
            """);
        var nanoseconds = Parquet("nanoseconds", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP_NS '2025-01-10 12:00:00', 5.0))
            AS t(customer_id, event_timestamp, amount)
            """);

        var result = await JoinAsync(entities,
            View("plain", plain, Unlimited, "amount"), View("zoned", zoned, Unlimited, "amount"), View("ns", nanoseconds, Unlimited, "amount"));

        Assert.Equal(
            [
                "customer_id | event_timestamp | plain__amount | zoned__amount | ns__amount",
                "1 | 2025-01-10 12:00:00+00 | 2.0 | 3.0 | 5.0",
            ],
            ReadTable(Output));
        Assert.Equal(new ParquetColumn("event_timestamp", "TIMESTAMP WITH TIME ZONE"), result.Columns[1]);
    }

    [Fact]
    public async Task FilesOfAViewAreOneTableMatchedByColumnName()
    {
        // The second version has its columns in another order and a feature the first lacks.
        var entities = Parquet("entities", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-10 00:00:00'),
                (2, TIMESTAMP '2025-01-10 00:00:00'))
            AS t(customer_id, event_timestamp)
            """);
        var first = Parquet("stats-1", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-01 00:00:00', 1.0),
                (2, TIMESTAMP '2025-01-01 00:00:00', 2.0))
            AS t(customer_id, event_timestamp, spend)
            """);
        var second = Parquet("stats-2", """
            SELECT * FROM (VALUES
                (5, 20.0, TIMESTAMP '2025-01-05 00:00:00', 2))
            AS t(visits, spend, event_timestamp, customer_id)
            """);

        await JoinAsync(entities, new FeatureViewSource("stats", [first, second], ["customer_id"], "event_timestamp", null, Unlimited, ["spend", "visits"]));

        Assert.Equal(
            [
                "customer_id | event_timestamp | stats__spend | stats__visits",
                "1 | 2025-01-10 00:00:00 | 1.0 | NULL",
                "2 | 2025-01-10 00:00:00 | 20.0 | 5",
            ],
            ReadTable(Output));
    }

    [Fact]
    public async Task EntityRowsFromSeveralFilesKeepTheFilesOrder()
    {
        var first = Parquet("entities-1", """
            SELECT * FROM (VALUES
                (3, TIMESTAMP '2025-01-10 00:00:00'),
                (1, TIMESTAMP '2025-01-10 00:00:00'))
            AS t(customer_id, event_timestamp)
            """);
        var second = Parquet("entities-2", """
            SELECT * FROM (VALUES
                (2, TIMESTAMP '2025-01-10 00:00:00'))
            AS t(customer_id, event_timestamp)
            """);
        var spend = Parquet("spend", """
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-01 00:00:00', 1.0),
                (2, TIMESTAMP '2025-01-01 00:00:00', 2.0),
                (3, TIMESTAMP '2025-01-01 00:00:00', 3.0))
            AS t(customer_id, event_timestamp, amount)
            """);

        await PointInTimeJoin.WriteAsync(new EntitySource([first, second], "event_timestamp"), [View("spend", spend, Unlimited, "amount")],
            Output, Scratch, CancellationToken.None);

        Assert.Equal(
            [
                "customer_id | event_timestamp | spend__amount",
                "3 | 2025-01-10 00:00:00 | 3.0",
                "1 | 2025-01-10 00:00:00 | 1.0",
                "2 | 2025-01-10 00:00:00 | 2.0",
            ],
            ReadTable(Output));
    }

    [Fact]
    public async Task ManyEntityRowsKeepTheirOrder()
    {
        // Enough rows for DuckDB to work in parallel, where only the join's own ordering keeps them in place.
        var entities = Parquet("entities", """
            SELECT i AS seq, hash(i) % 50000 AS customer_id, TIMESTAMP '2025-01-01' + to_seconds((hash(i, 1) % 31536000)::BIGINT) AS event_timestamp
            FROM range(300000) AS t(i)
            """);
        var spend = Parquet("spend", """
            SELECT hash(i, 2) % 50000 AS customer_id, TIMESTAMP '2025-01-01' + to_seconds((hash(i, 3) % 31536000)::BIGINT) AS event_timestamp,
                i::DOUBLE AS amount
            FROM range(300000) AS t(i)
            """);

        await JoinAsync(entities, View("spend", spend, TimeSpan.FromDays(30), "amount"));

        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        var counts = Query(connection, $"SELECT count(*)::VARCHAR, (count(*) FILTER (WHERE seq <> file_row_number))::VARCHAR FROM read_parquet('{Output}')");
        Assert.Equal(["300000", "0"], counts.Single());
    }

    [Fact]
    public async Task NamesAndPathsWithQuotesReachDuckDbIntact()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_folder, "it's \"here\"")).FullName;
        var entities = Parquet(Path.Combine(folder, "entities"), """"
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-10 00:00:00'))
            AS t("customer's ""id""", "when; DROP TABLE x")
            """");
        var spend = Parquet(Path.Combine(folder, "spend"), """"
            SELECT * FROM (VALUES
                (1, TIMESTAMP '2025-01-01 00:00:00', 1.0))
            AS t("customer's ""id""", "when; DROP TABLE x", "a""b'c")
            """");

        var result = await PointInTimeJoin.WriteAsync(
            new EntitySource([entities], "when; DROP TABLE x"),
            [new FeatureViewSource("v'1\"", [spend], ["customer's \"id\""], "when; DROP TABLE x", null, Unlimited, ["a\"b'c"])],
            Path.Combine(folder, "out'put.parquet"), Scratch, CancellationToken.None);

        Assert.Equal(["customer's \"id\"", "when; DROP TABLE x", "v'1\"__a\"b'c"], result.Columns.Select(column => column.Name));
        Assert.Equal(
            [
                "customer's \"id\" | when; DROP TABLE x | v'1\"__a\"b'c",
                "1 | 2025-01-10 00:00:00 | 1.0",
            ],
            ReadTable(Path.Combine(folder, "out'put.parquet")));
    }

    [Fact]
    public async Task ResultCountsTheRowsAndGivesTheOutputColumnsWithTheirTypes()
    {
        var entities = Parquet("entities", """
            SELECT * FROM (VALUES
                (1::BIGINT, TIMESTAMP '2025-01-10 00:00:00', true),
                (2::BIGINT, TIMESTAMP '2025-01-10 00:00:00', false))
            AS t(customer_id, event_timestamp, label)
            """);
        var spend = Parquet("spend", """
            SELECT * FROM (VALUES
                (1::INTEGER, TIMESTAMP '2025-01-01 00:00:00', 1.5::FLOAT, 'gold'))
            AS t(customer_id, event_timestamp, amount, tier)
            """);

        var result = await JoinAsync(entities, View("spend", spend, Unlimited, "tier", "amount"));

        Assert.Equal(2, result.Rows);
        Assert.Equal(
            [
                new ParquetColumn("customer_id", "BIGINT"),
                new ParquetColumn("event_timestamp", "TIMESTAMP"),
                new ParquetColumn("label", "BOOLEAN"),
                new ParquetColumn("spend__tier", "VARCHAR"),
                new ParquetColumn("spend__amount", "FLOAT"),
            ],
            result.Columns);
        Assert.True(result.Elapsed > TimeSpan.Zero);
    }

    [Fact]
    public async Task JoinKeyMissingFromTheEntityTableIsNamed()
    {
        var (entities, spend) = SimpleTables();

        var error = await Assert.ThrowsAsync<PointInTimeJoinException>(() => JoinAsync(entities,
            new FeatureViewSource("spend", [spend], ["customer_id", "merchant_id"], "event_timestamp", null, Unlimited, ["amount"])));

        Assert.Equal("The join key 'merchant_id' of view 'spend' is not a column of the entity table.", error.Message);
        Assert.Equal(("spend", "merchant_id"), (error.View, error.Column));
    }

    [Fact]
    public async Task FeatureMissingFromTheViewsFilesIsNamed()
    {
        var (entities, spend) = SimpleTables();

        var error = await Assert.ThrowsAsync<PointInTimeJoinException>(() => JoinAsync(entities, View("spend", spend, Unlimited, "amount", "visits")));

        Assert.Equal("The feature 'visits' is not a column of view 'spend'.", error.Message);
        Assert.Equal(("spend", "visits"), (error.View, error.Column));
    }

    [Fact]
    public async Task TimestampColumnThatIsNotATimestampIsNamed()
    {
        var (entities, spend) = SimpleTables();

        var entityError = await Assert.ThrowsAsync<PointInTimeJoinException>(() => PointInTimeJoin.WriteAsync(
            new EntitySource([entities], "label"), [View("spend", spend, Unlimited, "amount")], Output, Scratch, CancellationToken.None));
        var viewError = await Assert.ThrowsAsync<PointInTimeJoinException>(() => JoinAsync(entities,
            View("spend", spend, Unlimited, "amount") with { CreatedTimestamp = "amount" }));

        Assert.Equal("The event timestamp 'label' of the entity table is VARCHAR, not a TIMESTAMP or TIMESTAMP WITH TIME ZONE.", entityError.Message);
        Assert.Equal("The created timestamp 'amount' of view 'spend' is DOUBLE, not a TIMESTAMP or TIMESTAMP WITH TIME ZONE.", viewError.Message);
    }

    [Fact]
    public async Task JoinKeysOfTypesThatCannotBeComparedAreNamed()
    {
        var entities = Parquet("entities", "SELECT '1' AS customer_id, TIMESTAMP '2025-01-10 00:00:00' AS event_timestamp");
        var spend = SpendTable();

        var error = await Assert.ThrowsAsync<PointInTimeJoinException>(() => JoinAsync(entities, View("spend", spend, Unlimited, "amount")));

        Assert.Equal("The join key 'customer_id' is VARCHAR in the entity table but INTEGER in view 'spend'.", error.Message);
    }

    [Fact]
    public async Task OutputColumnsThatWouldCollideAreRefused()
    {
        var entities = Parquet("entities", "SELECT 1 AS customer_id, TIMESTAMP '2025-01-10 00:00:00' AS event_timestamp, 0 AS SPEND__AMOUNT");
        var spend = SpendTable();

        var collision = await Assert.ThrowsAsync<PointInTimeJoinException>(() => JoinAsync(entities, View("spend", spend, Unlimited, "amount")));
        var twice = await Assert.ThrowsAsync<PointInTimeJoinException>(() => JoinAsync(entities,
            View("a", spend, Unlimited, "amount"), View("A", spend, Unlimited, "amount")));

        Assert.Equal("The output would have two columns named 'spend__amount' (names that differ only in case count as the same).", collision.Message);
        Assert.Equal("The feature view 'A' is named twice (names that differ only in case count as the same).", twice.Message);
    }

    [Fact]
    public async Task EntityColumnsWithTheJoinsOwnPrefixAreRefused()
    {
        var entities = Parquet("entities", "SELECT 1 AS customer_id, TIMESTAMP '2025-01-10 00:00:00' AS event_timestamp, 0 AS __pit_row");
        var spend = SpendTable();

        var error = await Assert.ThrowsAsync<PointInTimeJoinException>(() => JoinAsync(entities, View("spend", spend, Unlimited, "amount")));

        Assert.Equal("__pit_row", error.Column);
    }

    [Fact]
    public async Task RequestsThatCannotBeRightAreRefusedBeforeAnyFileIsRead()
    {
        var (entities, spend) = SimpleTables();

        await Assert.ThrowsAsync<PointInTimeJoinException>(() => JoinAsync(entities));
        await Assert.ThrowsAsync<PointInTimeJoinException>(() => JoinAsync(entities, View("spend", spend, TimeSpan.FromSeconds(-1), "amount")));
        await Assert.ThrowsAsync<PointInTimeJoinException>(() => JoinAsync(entities, View("spend", spend, Unlimited)));
        await Assert.ThrowsAsync<PointInTimeJoinException>(() => JoinAsync(entities, View("spend", spend, Unlimited, "amount") with { JoinKeys = [] }));
        await Assert.ThrowsAsync<PointInTimeJoinException>(() => JoinAsync(entities, View("", spend, Unlimited, "amount")));
        await Assert.ThrowsAsync<PointInTimeJoinException>(() => JoinAsync(entities, View("spend", spend, Unlimited, "am\0ount")));
        await Assert.ThrowsAsync<FileNotFoundException>(() => JoinAsync(entities, View("spend", spend + ".missing", Unlimited, "amount")));
        await Assert.ThrowsAsync<ArgumentException>(() => JoinAsync(entities, View("spend", Path.Combine(_folder, "*.parquet"), Unlimited, "amount")));
    }

    [Fact]
    public async Task FailedJoinLeavesTheOutputAsItWasAndNothingInScratch()
    {
        var (entities, spend) = SimpleTables();
        await File.WriteAllTextAsync(Output, "an earlier result");

        await Assert.ThrowsAsync<PointInTimeJoinException>(() => JoinAsync(entities, View("spend", spend, Unlimited, "visits")));

        Assert.Equal("an earlier result", await File.ReadAllTextAsync(Output));
        Assert.Equal(["entities.parquet", "out.parquet", "spend.parquet"], Directory.GetFiles(_folder).Select(Path.GetFileName).Order());
        Assert.Empty(Directory.GetFileSystemEntries(Scratch));
    }

    [Fact]
    public async Task CancelledBeforeItStartsWritesNothing()
    {
        var (entities, spend) = SimpleTables();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => PointInTimeJoin.WriteAsync(
            new EntitySource([entities], "event_timestamp"), [View("spend", spend, Unlimited, "amount")], Output, Scratch, new CancellationToken(true)));

        Assert.False(File.Exists(Output));
    }

    [Fact]
    public async Task CancellingInterruptsARunningJoin()
    {
        // About 6 s of work on one thread, cancelled after 1.5 s, in the middle of the ASOF join's statement: the join must stop
        // there, not when that statement ends (at about 5 s, were DuckDB not interrupted).
        var entities = Parquet("entities", """
            SELECT i % 200000 AS customer_id, TIMESTAMP '2025-01-01' + to_seconds(hash(i) % 31536000) AS event_timestamp
            FROM range(3000000) AS t(i)
            """);
        var spend = Parquet("spend", """
            SELECT hash(i) % 200000 AS customer_id, TIMESTAMP '2025-01-01' + to_seconds(i % 31536000) AS event_timestamp, random() AS amount
            FROM range(3000000) AS t(i)
            """);
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(1500));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => PointInTimeJoin.WriteAsync(
            new EntitySource([entities], "event_timestamp"), [View("spend", spend, TimeSpan.FromDays(30), "amount")], Output, Scratch,
            new PointInTimeJoinLimits(256L << 20, 1), cancellation.Token));

        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(2.5));
        Assert.False(File.Exists(Output));
        Assert.Empty(Directory.GetFileSystemEntries(Scratch));
    }

    /// <summary>
    /// Generated tables, with few keys and few distinct instants so that ties, TTL boundaries and missing rows are common,
    /// against the rule written plainly in C#. Each view row's value is its place in reading order, naming the row chosen.
    /// </summary>
    [Fact]
    public void GeneratedTablesJoinAsTheRuleSays()
    {
        var instant = Gen.Int[0, 6].Select(minute => minute * MicrosecondsPerMinute);
        var maybeInstant = Gen.Frequency((1, Gen.Const((long?)null)), (4, instant.Select(value => (long?)value)));
        var entityRow = Gen.Select(Gen.Int[1, 4], maybeInstant, (customer, at) => new EntityRow(customer, at));
        var viewRow = Gen.Select(Gen.Int[1, 3], instant, maybeInstant, (customer, at, created) => new ViewRow(customer, at, created));
        var cases = Gen.Select(entityRow.Array[1, 8], viewRow.Array[1, 10], Gen.Int[0, 10], Gen.OneOf(Gen.Const(0), Gen.Const(1), Gen.Const(2)),
            (entities, rows, split, ttl) => new JoinCase(entities, rows, Math.Min(split, rows.Length), ttl));

        cases.Sample(join =>
        {
            var entityFile = Parquet("entities", Values(join.Entities.Select(row => $"({row.Customer}, {Timestamp(row.At)})"), "customer_id, ts"));
            var rows = join.ViewRows.Select((row, read) => $"({row.Customer}, {Timestamp(row.At)}, {Timestamp(row.Created)}, {read}::DOUBLE)").ToArray();
            var viewFiles = new[] { rows[..join.FirstFileRows], rows[join.FirstFileRows..] }.Where(part => part.Length > 0)
                .Select((part, file) => Parquet($"view-{file}", Values(part, "customer_id, ts, created, value"))).ToList();
            var view = new FeatureViewSource("v", viewFiles, ["customer_id"], "ts", "created", TimeSpan.FromMinutes(join.TtlMinutes), ["value"]);

            PointInTimeJoin.WriteAsync(new EntitySource([entityFile], "ts"), [view], Output, Scratch, CancellationToken.None).GetAwaiter().GetResult();

            var expected = join.Entities.Select(entity =>
            {
                var ttl = join.TtlMinutes * MicrosecondsPerMinute;
                var chosen = join.ViewRows.Select((row, read) => (Row: row, Read: read))
                    .Where(candidate => candidate.Row.Customer == entity.Customer && entity.At is { } at && candidate.Row.At <= at
                        && (ttl == 0 || at - candidate.Row.At <= ttl))
                    .OrderByDescending(candidate => candidate.Row.At)
                    .ThenByDescending(candidate => candidate.Row.Created.HasValue).ThenByDescending(candidate => candidate.Row.Created)
                    .ThenByDescending(candidate => candidate.Read)
                    .Select(candidate => $"{candidate.Read}.0").FirstOrDefault("NULL");
                return $"{entity.Customer} | {Text(entity.At)} | {chosen}";
            });
            Assert.Equal(["customer_id | ts | v__value", .. expected], ReadTable(Output));
        }, iter: 60, threads: 1);
    }

    private const long MicrosecondsPerMinute = 60_000_000;

    private sealed record EntityRow(int Customer, long? At);

    private sealed record ViewRow(int Customer, long At, long? Created);

    /// <summary>The view's rows are read from two files: the first <paramref name="FirstFileRows"/> in one, the rest in another.</summary>
    private sealed record JoinCase(EntityRow[] Entities, ViewRow[] ViewRows, int FirstFileRows, int TtlMinutes);

    private static string Values(IEnumerable<string> rows, string columns) => $"SELECT * FROM (VALUES {string.Join(", ", rows)}) AS t({columns})";

    private static string Timestamp(long? microseconds) => microseconds is { } value ? $"TIMESTAMP '{Text(value)}'" : "NULL::TIMESTAMP";

    private static string Text(long? microseconds) =>
        microseconds is { } value ? DateTime.UnixEpoch.AddTicks(value * 10).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "NULL";

    private (string Entities, string Spend) SimpleTables() => (
        Parquet("entities", "SELECT 1 AS customer_id, TIMESTAMP '2025-01-10 00:00:00' AS event_timestamp, 'x' AS label"), SpendTable());

    private string SpendTable() => Parquet("spend", "SELECT 1 AS customer_id, TIMESTAMP '2025-01-01 00:00:00' AS event_timestamp, 1.0::DOUBLE AS amount");

    private static FeatureViewSource View(string name, string file, TimeSpan ttl, params string[] features) =>
        new(name, [file], ["customer_id"], "event_timestamp", null, ttl, features);

    private Task<PointInTimeJoinResult> JoinAsync(string entityFile, params FeatureViewSource[] views) =>
        PointInTimeJoin.WriteAsync(new EntitySource([entityFile], "event_timestamp"), views, Output, Scratch, CancellationToken.None);

    /// <summary>Writes the rows of <paramref name="select"/> to <c>{name}.parquet</c> in the test's folder (or at that path).</summary>
    private string Parquet(string name, string select)
    {
        var path = Path.Combine(_folder, name + ".parquet");
        Run($"COPY ({select}) TO '{path.Replace("'", "''", StringComparison.Ordinal)}' (FORMAT parquet)");
        return path;
    }

    /// <summary>A Parquet file as text: a header of column names, then each row as DuckDB prints its values in UTC.</summary>
    private static List<string> ReadTable(string path)
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        var file = $"read_parquet('{path.Replace("'", "''", StringComparison.Ordinal)}')";
        var names = Query(connection, $"SELECT column_name FROM (DESCRIBE SELECT * FROM {file})").Select(row => row[0]);
        var table = new List<string> { string.Join(" | ", names) };
        Query(connection, "SET TimeZone = 'UTC'");
        table.AddRange(Query(connection, $"SELECT COLUMNS(*)::VARCHAR FROM {file}").Select(row => string.Join(" | ", row)));
        return table;
    }

    private static void Run(string sql)
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        Query(connection, sql);
    }

    private static List<string[]> Query(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string[]>();
        while (reader.Read())
        {
            rows.Add([.. Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "NULL" : reader.GetString(i))]);
        }

        return rows;
    }
}
