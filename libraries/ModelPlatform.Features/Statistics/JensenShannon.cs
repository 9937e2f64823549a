namespace ModelPlatform.Features.Statistics;

/// <summary>
/// The Jensen–Shannon distance between two columns' label proportions, natural logarithm, as Evidently computes it
/// with <c>scipy.spatial.distance.jensenshannon</c>: 0 for identical proportions, √ln 2 ≈ 0.833 for disjoint labels.
/// </summary>
public static class JensenShannon
{
    public static double Distance(ColumnData reference, ColumnData current)
    {
        ColumnArguments.RequireLabels(reference, nameof(reference), "a Jensen–Shannon distance");
        ColumnArguments.RequireLabels(current, nameof(current), "a Jensen–Shannon distance");

        var counts = AlignedCounts.Of(reference, current);
        var p = Proportions(counts.Reference, reference.Count);
        var q = Proportions(counts.Current, current.Count);

        var divergence = 0.0;
        for (var i = 0; i < p.Length; i++)
        {
            var middle = (p[i] + q[i]) / 2;
            divergence += RelativeEntropy(p[i], middle) + RelativeEntropy(q[i], middle);
        }

        // Rounding can leave a sum a hair below zero for identical proportions; its square root would be NaN.
        return Math.Sqrt(Math.Max(divergence / 2, 0.0));
    }

    // Evidently hands scipy count / size, and scipy divides by the sum again.
    private static double[] Proportions(long[] counts, long size)
    {
        var proportions = new double[counts.Length];
        var sum = 0.0;
        for (var i = 0; i < counts.Length; i++)
        {
            proportions[i] = (double)counts[i] / size;
            sum += proportions[i];
        }

        for (var i = 0; i < proportions.Length; i++)
        {
            proportions[i] /= sum;
        }

        return proportions;
    }

    // scipy.special.rel_entr: x ln(x/y), and 0 where x is 0.
    private static double RelativeEntropy(double x, double y) => x > 0 ? x * Math.Log(x / y) : 0.0;
}
