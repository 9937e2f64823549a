using ModelPlatform.Contracts;

namespace ModelPlatform.Features.Statistics;

/// <summary>
/// What a dataset version's column looks like: counts for every column, then the moments, quantiles and histogram
/// of a numeric column or the most frequent values of any other. Values a column cannot have are null,
/// never NaN, so the record always serialises to JSON.
/// </summary>
public sealed record ColumnStatistics(
    string Name,
    ColumnType Type,
    long Count,
    long Missing,
    long Distinct,
    double? Mean = null,
    double? Std = null,
    double? Min = null,
    double? Max = null,
    Quantiles? Quantiles = null,
    Histogram? Histogram = null,
    IReadOnlyList<ValueCount>? TopValues = null)
{
    public const int HistogramBins = 20;
    public const int TopValueCount = 10;

    public static ColumnStatistics Numeric(string name, ReadOnlySpan<double> values, long missing = 0) =>
        Of(ColumnData.Numeric(name, values, missing));

    public static ColumnStatistics Categorical(string name, ColumnType type, ReadOnlySpan<string?> values, long missing = 0) =>
        Of(ColumnData.Categorical(name, type, values, missing));

    public static ColumnStatistics Of(ColumnData column)
    {
        ArgumentNullException.ThrowIfNull(column);
        return column.IsNumeric ? OfNumbers(column) : OfLabels(column);
    }

    private static ColumnStatistics OfNumbers(ColumnData column)
    {
        var sorted = column.SortedValues;
        var statistics = new ColumnStatistics(column.Name, column.Type, column.Count, column.Missing, SortedValues.CountDistinct(sorted));
        if (sorted.IsEmpty)
        {
            return statistics;
        }

        var mean = SortedValues.Mean(sorted);
        var edges = SortedValues.EqualWidthEdges(sorted[0], sorted[^1], HistogramBins);
        return statistics with
        {
            Mean = Finite(mean),
            // Like pandas, one value has no sample deviation.
            Std = sorted.Length > 1 ? Finite(SortedValues.StandardDeviation(sorted, mean, ddof: 1)) : null,
            Min = sorted[0],
            Max = sorted[^1],
            Quantiles = new Quantiles(
                SortedValues.Quantile(sorted, 0.01),
                SortedValues.Quantile(sorted, 0.05),
                SortedValues.Quantile(sorted, 0.25),
                SortedValues.Quantile(sorted, 0.50),
                SortedValues.Quantile(sorted, 0.75),
                SortedValues.Quantile(sorted, 0.95),
                SortedValues.Quantile(sorted, 0.99)),
            Histogram = edges is null ? null : new Histogram(edges, SortedValues.CountPerBin(sorted, edges)),
        };
    }

    private static ColumnStatistics OfLabels(ColumnData column)
    {
        var counts = column.LabelCounts.ToArray();
        Array.Sort(counts, (left, right) =>
            left.Value != right.Value ? right.Value.CompareTo(left.Value) : string.CompareOrdinal(left.Key, right.Key));

        var top = new ValueCount[Math.Min(TopValueCount, counts.Length)];
        for (var i = 0; i < top.Length; i++)
        {
            top[i] = new ValueCount(counts[i].Key, counts[i].Value);
        }

        return new ColumnStatistics(column.Name, column.Type, column.Count, column.Missing, counts.Length, TopValues: top);
    }

    // Sums of values near double.MaxValue overflow; JSON cannot carry the infinity that results.
    private static double? Finite(double value) => double.IsFinite(value) ? value : null;
}

/// <summary>The 1st, 5th, 25th, 50th, 75th, 95th and 99th percentiles, interpolated linearly as numpy does by default.</summary>
public sealed record Quantiles(double P01, double P05, double P25, double P50, double P75, double P95, double P99);

/// <summary>Equal-width bins from the smallest to the largest value: one more edge than counts, the last bin closed.</summary>
public sealed record Histogram(IReadOnlyList<double> Edges, IReadOnlyList<long> Counts);

public sealed record ValueCount(string Value, long Count);
