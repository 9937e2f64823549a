namespace ModelPlatform.Features.Statistics;

/// <summary>
/// The population stability index, Σ (reference − current) · ln(reference / current) over the proportions per bin,
/// as Evidently's psi test computes it: numbers fall into equal-width bins over both columns' range, labels are
/// their own bins, and an empty bin counts as a proportion of 0.0001 so the logarithm stays finite.
/// </summary>
public static class PopulationStabilityIndex
{
    public const int NumericBins = 30;

    /// <summary>Stands in for a proportion of zero.</summary>
    public const double EmptyBinProportion = 0.0001;

    /// <summary>PSI of two numeric columns over np.histogram_bin_edges(both, bins: 30); NaN if their range overflows a double.</summary>
    public static double Numeric(ColumnData reference, ColumnData current)
    {
        ColumnArguments.RequireNumbers(reference, nameof(reference), "a numeric population stability index");
        ColumnArguments.RequireNumbers(current, nameof(current), "a numeric population stability index");

        var min = Math.Min(reference.SortedValues[0], current.SortedValues[0]);
        var max = Math.Max(reference.SortedValues[^1], current.SortedValues[^1]);
        var edges = SortedValues.EqualWidthEdges(min, max, NumericBins);
        if (edges is null)
        {
            return double.NaN;
        }

        return Index(
            SortedValues.CountPerBin(reference.SortedValues, edges), reference.Count,
            SortedValues.CountPerBin(current.SortedValues, edges), current.Count);
    }

    /// <summary>PSI of two label columns, one bin per label in either.</summary>
    public static double Categorical(ColumnData reference, ColumnData current)
    {
        ColumnArguments.RequireLabels(reference, nameof(reference), "a categorical population stability index");
        ColumnArguments.RequireLabels(current, nameof(current), "a categorical population stability index");

        var counts = AlignedCounts.Of(reference, current);
        return Index(counts.Reference, reference.Count, counts.Current, current.Count);
    }

    private static double Index(long[] referenceCounts, long referenceSize, long[] currentCounts, long currentSize)
    {
        var index = 0.0;
        for (var bin = 0; bin < referenceCounts.Length; bin++)
        {
            var expected = Proportion(referenceCounts[bin], referenceSize);
            var actual = Proportion(currentCounts[bin], currentSize);
            index += (expected - actual) * Math.Log(expected / actual);
        }

        return index;
    }

    private static double Proportion(long count, long size) => count == 0 ? EmptyBinProportion : (double)count / size;
}
