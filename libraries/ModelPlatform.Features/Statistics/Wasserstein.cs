namespace ModelPlatform.Features.Statistics;

/// <summary>The first Wasserstein (earth mover's) distance between two numeric columns: ∫ |F1(x) − F2(x)| dx.</summary>
public static class Wasserstein
{
    /// <summary>Evidently's floor on the reference's deviation, so a constant reference does not divide by zero.</summary>
    public const double MinimumReferenceStd = 0.001;

    /// <summary>scipy.stats.wasserstein_distance(a, b), in one merge of the two sorted columns.</summary>
    public static double Distance(ColumnData first, ColumnData second)
    {
        ColumnArguments.RequireNumbers(first, nameof(first), "a Wasserstein distance");
        ColumnArguments.RequireNumbers(second, nameof(second), "a Wasserstein distance");

        var a = first.SortedValues;
        var b = second.SortedValues;
        int i = 0, j = 0;
        var distance = 0.0;

        // Between one merged value and the next, each CDF counts the values taken so far
        // (a value tied with one not yet taken is followed by a gap of zero width).
        var value = TakeSmaller(a, b, ref i, ref j);
        while (i < a.Length || j < b.Length)
        {
            var cdfGap = Math.Abs((double)i / a.Length - (double)j / b.Length);
            var next = TakeSmaller(a, b, ref i, ref j);
            distance += cdfGap * (next - value);
            value = next;
        }

        return distance;
    }

    /// <summary>
    /// Evidently's wasserstein drift score: the distance in units of the reference's population deviation (np.std),
    /// which is floored at <see cref="MinimumReferenceStd"/>.
    /// </summary>
    public static double NormalisedDistance(ColumnData reference, ColumnData current)
    {
        var distance = Distance(reference, current);
        var sorted = reference.SortedValues;
        var std = SortedValues.StandardDeviation(sorted, SortedValues.Mean(sorted), ddof: 0);
        return distance / Math.Max(std, MinimumReferenceStd);
    }

    private static double TakeSmaller(ReadOnlySpan<double> a, ReadOnlySpan<double> b, ref int i, ref int j) =>
        j >= b.Length || (i < a.Length && a[i] <= b[j]) ? a[i++] : b[j++];
}
