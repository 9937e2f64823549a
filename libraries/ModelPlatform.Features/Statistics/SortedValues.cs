namespace ModelPlatform.Features.Statistics;

/// <summary>Statistics of values already sorted ascending, computed the way numpy computes them.</summary>
internal static class SortedValues
{
    public static double Mean(ReadOnlySpan<double> sorted)
    {
        var sum = 0.0;
        foreach (var value in sorted)
        {
            sum += value;
        }

        return sum / sorted.Length;
    }

    /// <summary>Standard deviation around the mean; ddof 0 is numpy's np.std, ddof 1 is pandas' std.</summary>
    public static double StandardDeviation(ReadOnlySpan<double> sorted, double mean, int ddof)
    {
        // Two passes (mean first) rather than a sum of squares, which loses every digit when the spread is small.
        var squares = 0.0;
        foreach (var value in sorted)
        {
            var deviation = value - mean;
            squares += deviation * deviation;
        }

        return Math.Sqrt(squares / (sorted.Length - ddof));
    }

    /// <summary>numpy's default quantile ('linear'): interpolates between the two nearest ranks.</summary>
    public static double Quantile(ReadOnlySpan<double> sorted, double probability)
    {
        var position = (sorted.Length - 1) * probability;
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Length - 1);
        var fraction = position - below;

        // numpy's _lerp interpolates from the nearer end, so a quantile on a rank returns that value exactly.
        var difference = sorted[above] - sorted[below];
        if (!double.IsFinite(difference))
        {
            // Neighbours near ±double.MaxValue: weight each instead, which cannot overflow.
            return sorted[below] * (1 - fraction) + sorted[above] * fraction;
        }

        return fraction >= 0.5 ? sorted[above] - difference * (1 - fraction) : sorted[below] + difference * fraction;
    }

    /// <summary>
    /// numpy's np.histogram_bin_edges(values, bins): equal widths from the smallest to the largest value,
    /// widened by half a unit each side when all values are equal. Null when the range overflows a double.
    /// </summary>
    public static double[]? EqualWidthEdges(double min, double max, int bins)
    {
        if (min == max)
        {
            min -= 0.5;
            max += 0.5;
        }

        var step = (max - min) / bins;
        if (!double.IsFinite(step))
        {
            return null;
        }

        var edges = new double[bins + 1];
        for (var i = 0; i < bins; i++)
        {
            edges[i] = i * step + min;
        }

        edges[bins] = max;
        return edges;
    }

    /// <summary>numpy's np.histogram with given edges: each bin holds [left, right), the last one [left, right].</summary>
    public static long[] CountPerBin(ReadOnlySpan<double> sorted, double[] edges)
    {
        var counts = new long[edges.Length - 1];
        var start = FirstAtOrAbove(sorted, edges[0]);
        for (var bin = 0; bin < counts.Length; bin++)
        {
            var isLast = bin == counts.Length - 1;
            var end = isLast ? FirstAbove(sorted, edges[bin + 1]) : FirstAtOrAbove(sorted, edges[bin + 1]);
            counts[bin] = end - start;
            start = end;
        }

        return counts;
    }

    /// <summary>How many distinct values there are: the number of steps in the sorted order, plus one.</summary>
    public static long CountDistinct(ReadOnlySpan<double> sorted)
    {
        if (sorted.IsEmpty)
        {
            return 0;
        }

        long distinct = 1;
        for (var i = 1; i < sorted.Length; i++)
        {
            if (sorted[i] != sorted[i - 1])
            {
                distinct++;
            }
        }

        return distinct;
    }

    private static int FirstAtOrAbove(ReadOnlySpan<double> sorted, double value)
    {
        int low = 0, high = sorted.Length;
        while (low < high)
        {
            var middle = low + (high - low) / 2;
            if (sorted[middle] < value)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    private static int FirstAbove(ReadOnlySpan<double> sorted, double value)
    {
        int low = 0, high = sorted.Length;
        while (low < high)
        {
            var middle = low + (high - low) / 2;
            if (sorted[middle] <= value)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }
}
