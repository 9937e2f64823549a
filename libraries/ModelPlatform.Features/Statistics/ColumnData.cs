using System.Runtime.InteropServices;
using ModelPlatform.Contracts;

namespace ModelPlatform.Features.Statistics;

/// <summary>
/// One column's values, prepared once for statistics and drift: numbers kept finite and sorted, labels counted.
/// Sorting once lets every statistic and test that follows run in linear time or by binary search.
/// </summary>
public sealed class ColumnData
{
    private static readonly Dictionary<string, long> NoLabels = new(StringComparer.Ordinal);

    private readonly double[] _sortedValues;
    private readonly Dictionary<string, long> _labelCounts;

    private ColumnData(string name, ColumnType type, long count, long missing, double[] sortedValues, Dictionary<string, long> labelCounts)
    {
        Name = name;
        Type = type;
        Count = count;
        Missing = missing;
        _sortedValues = sortedValues;
        _labelCounts = labelCounts;
    }

    public string Name { get; }

    public ColumnType Type { get; }

    /// <summary>How many values are present (missing ones not counted).</summary>
    public long Count { get; }

    public long Missing { get; }

    public bool IsNumeric => Type == ColumnType.Numeric;

    /// <summary>A numeric column's values in ascending order; empty for other columns.</summary>
    public ReadOnlySpan<double> SortedValues => _sortedValues;

    /// <summary>How often each label occurs (ordinal comparison); empty for numeric columns.</summary>
    public IReadOnlyDictionary<string, long> LabelCounts => _labelCounts;

    /// <summary>
    /// A numeric column. The values are copied; NaN and infinities count as missing,
    /// so nothing that JSON cannot carry reaches a statistic.
    /// </summary>
    public static ColumnData Numeric(string name, ReadOnlySpan<double> values, long missing = 0)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegative(missing);

        var finite = new double[values.Length];
        var count = 0;
        foreach (var value in values)
        {
            if (double.IsFinite(value))
            {
                finite[count++] = value;
            }
        }

        Array.Resize(ref finite, count);
        Array.Sort(finite);
        return new ColumnData(name, ColumnType.Numeric, count, missing + values.Length - count, finite, NoLabels);
    }

    /// <summary>A categorical, boolean or text column. Null values count as missing.</summary>
    public static ColumnData Categorical(string name, ColumnType type, ReadOnlySpan<string?> values, long missing = 0)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegative(missing);
        if (type is ColumnType.Numeric or ColumnType.Timestamp)
        {
            throw new ArgumentOutOfRangeException(nameof(type), type,
                "Numbers go through ColumnData.Numeric; timestamps are compared as numbers (for example seconds since the epoch).");
        }

        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        long count = 0;
        foreach (var value in values)
        {
            if (value is not null)
            {
                CollectionsMarshal.GetValueRefOrAddDefault(counts, value, out _)++;
                count++;
            }
        }

        return new ColumnData(name, type, count, missing + values.Length - count, [], counts);
    }
}
