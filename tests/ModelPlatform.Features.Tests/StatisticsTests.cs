using System.Text.Json;
using ModelPlatform.Contracts;
using ModelPlatform.Features.Statistics;

namespace ModelPlatform.Features.Tests;

// Expected values come from numpy in drift_expected.py (mean, std with ddof=1 as pandas, linear quantiles, np.histogram).
public class StatisticsTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Fact]
    public void NumericStatisticsMatchNumpy()
    {
        double[] values = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, double.NaN, double.PositiveInfinity];

        var statistics = ColumnStatistics.Numeric("x", values, missing: 2);

        Assert.Equal(ColumnType.Numeric, statistics.Type);
        Assert.Equal(11, statistics.Count);
        Assert.Equal(4, statistics.Missing); // the two given, plus NaN and infinity
        Assert.Equal(7, statistics.Distinct);
        Assert.Equal(4.0, statistics.Mean);
        AssertClose(2.3664319132398464, statistics.Std!.Value);
        Assert.Equal(1.0, statistics.Min);
        Assert.Equal(9.0, statistics.Max);
        AssertAllClose([1.0, 1.0, 2.5, 4.0, 5.0, 7.5, 8.700000000000001], QuantilesOf(statistics));
        AssertAllClose(
            [1.0, 1.4, 1.8, 2.2, 2.6, 3.0, 3.4000000000000004, 3.8000000000000003, 4.2, 4.6, 5.0, 5.4, 5.800000000000001, 6.2,
                6.6000000000000005, 7.0, 7.4, 7.800000000000001, 8.2, 8.600000000000001, 9.0],
            statistics.Histogram!.Edges);
        Assert.Equal([2L, 0, 1, 0, 0, 2, 0, 1, 0, 0, 3, 0, 1, 0, 0, 0, 0, 0, 0, 1], statistics.Histogram.Counts);
        Assert.Null(statistics.TopValues);
    }

    [Fact]
    public void QuantilesAndHistogramOfFiveThousandValuesMatchNumpy()
    {
        var statistics = ColumnStatistics.Numeric("x", Samples.Bell(5000, 18));

        AssertClose(-0.0004474065778026641, statistics.Mean!.Value);
        AssertClose(0.5022242030275199, statistics.Std!.Value);
        AssertAllClose(
            [-1.2031037068887933, -0.8516794496165115, -0.3380973570792875, -0.0001099967000990354, 0.3383523494295172, 0.8492835214943553,
                1.1999067027989179],
            QuantilesOf(statistics));
        Assert.Equal([17L, 36, 65, 94, 139, 186, 312, 508, 534, 554, 563, 543, 506, 364, 196, 149, 103, 68, 41, 22], statistics.Histogram!.Counts);
        Assert.Equal(5000, statistics.Histogram.Counts.Sum());
    }

    [Fact]
    public void ConstantColumnHasAUnitWideHistogramAroundItsValue()
    {
        var statistics = ColumnStatistics.Numeric("x", [7.0, 7.0, 7.0]);

        // numpy widens an empty range by 0.5 each side; 7 then sits on the left edge of the eleventh bin.
        Assert.Equal(0.0, statistics.Std);
        Assert.Equal(1, statistics.Distinct);
        Assert.Equal(6.5, statistics.Histogram!.Edges[0]);
        Assert.Equal(7.5, statistics.Histogram.Edges[^1]);
        Assert.Equal(3, statistics.Histogram.Counts[10]);
        Assert.Equal(3, statistics.Histogram.Counts.Sum());
        Assert.All(QuantilesOf(statistics), quantile => Assert.Equal(7.0, quantile));
    }

    [Fact]
    public void SingleValueHasNoSampleDeviation()
    {
        var statistics = ColumnStatistics.Numeric("x", [2.5]);

        Assert.Null(statistics.Std);
        Assert.Equal(2.5, statistics.Mean);
        Assert.Equal(2.5, statistics.Quantiles!.P99);
    }

    [Fact]
    public void EmptyNumericColumnHasCountsAndNothingElse()
    {
        var statistics = ColumnStatistics.Numeric("x", [double.NaN], missing: 4);

        Assert.Equal(new ColumnStatistics("x", ColumnType.Numeric, Count: 0, Missing: 5, Distinct: 0), statistics);
        Assert.Contains("\"mean\":null", JsonSerializer.Serialize(statistics, Web));
    }

    [Fact]
    public void TopValuesAreTheTenMostFrequentWithTiesInOrdinalOrder()
    {
        string?[] values =
        [
            .. Enumerable.Repeat("a", 5), .. Enumerable.Repeat("B", 5), .. Enumerable.Repeat("c", 7),
            "d", "e", "f", "g", "h", "i", "j", "k", "l", null, null,
        ];

        var statistics = ColumnStatistics.Categorical("letters", ColumnType.Categorical, values, missing: 1);

        Assert.Equal(26, statistics.Count);
        Assert.Equal(3, statistics.Missing);
        Assert.Equal(12, statistics.Distinct);
        // Ordinal: upper case sorts before lower case.
        Assert.Equal(
            [new("c", 7), new("B", 5), new("a", 5), new("d", 1), new("e", 1), new("f", 1), new("g", 1), new("h", 1), new("i", 1), new("j", 1)],
            statistics.TopValues!.ToArray<ValueCount>());
        Assert.Null(statistics.Mean);
        Assert.Null(statistics.Histogram);
    }

    [Fact]
    public void BooleanAndTextColumnsKeepTheirType()
    {
        var flags = ColumnStatistics.Categorical("flag", ColumnType.Boolean, ["true", "false", "true"]);
        var notes = ColumnStatistics.Categorical("note", ColumnType.Text, []);

        Assert.Equal(ColumnType.Boolean, flags.Type);
        Assert.Equal(new ValueCount("true", 2), flags.TopValues![0]);
        Assert.Equal(ColumnType.Text, notes.Type);
        Assert.Empty(notes.TopValues!);
    }

    [Fact]
    public void CategoricalColumnsRefuseTheNumericAndTimestampTypes()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ColumnData.Categorical("x", ColumnType.Numeric, ["1"]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ColumnData.Categorical("x", ColumnType.Timestamp, ["2024-01-01T00:00:00Z"]));
    }

    [Fact]
    public void StatisticsSerialiseInCamelCaseAndRoundTrip()
    {
        var statistics = ColumnStatistics.Numeric("price", [1.0, 2.0, 4.0]);

        var json = JsonSerializer.Serialize(statistics, Web);
        var readBack = JsonSerializer.Deserialize<ColumnStatistics>(json, Web)!;

        Assert.Contains("\"type\":\"numeric\"", json);
        Assert.Contains("\"quantiles\":{\"p01\":", json);
        Assert.Contains("\"histogram\":{\"edges\":[", json);
        Assert.Equal(json, JsonSerializer.Serialize(readBack, Web));
    }

    [Fact]
    public void ValuesNearTheLargestDoubleGiveNullsRatherThanInfinity()
    {
        var statistics = ColumnStatistics.Numeric("x", [double.MaxValue, double.MaxValue, -double.MaxValue / 2]);

        // The sum and the range overflow; JSON could not carry the infinity.
        Assert.Null(statistics.Mean);
        Assert.Null(statistics.Std);
        Assert.Null(statistics.Histogram);
        Assert.Equal(double.MaxValue, statistics.Max);
        Assert.Equal(double.MaxValue / 4, statistics.Quantiles!.P25);
        JsonSerializer.Serialize(statistics, Web);
    }

    private static double[] QuantilesOf(ColumnStatistics statistics)
    {
        var q = statistics.Quantiles!;
        return [q.P01, q.P05, q.P25, q.P50, q.P75, q.P95, q.P99];
    }

    private static void AssertAllClose(IReadOnlyList<double> expected, IReadOnlyList<double> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            AssertClose(expected[i], actual[i]);
        }
    }

    private static void AssertClose(double expected, double actual)
    {
        var tolerance = Math.Abs(expected) * 1e-9;
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"Expected {expected:R}, got {actual:R}.");
    }
}
