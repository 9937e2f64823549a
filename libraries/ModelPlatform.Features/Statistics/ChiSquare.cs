using MathNet.Numerics;

namespace ModelPlatform.Features.Statistics;

/// <summary>
/// The chi-square statistic and its p-value. The statistic is +∞ (and the p-value 0) when the current data has a label
/// the reference never had, as scipy gives; results that go to JSON carry that statistic as null.
/// </summary>
public readonly record struct ChiSquareResult(double Statistic, double PValue);

/// <summary>
/// Evidently's chi-square drift test (<c>_chi_stat_test</c>): over the union of labels, the current counts are observed
/// and the reference counts scaled to the current size are expected, then <c>scipy.stats.chisquare(f_obs, f_exp)</c>.
/// </summary>
public static class ChiSquare
{
    public static ChiSquareResult GoodnessOfFit(ColumnData reference, ColumnData current)
    {
        ColumnArguments.RequireLabels(reference, nameof(reference), "a chi-square test");
        ColumnArguments.RequireLabels(current, nameof(current), "a chi-square test");

        var counts = AlignedCounts.Of(reference, current);
        var scale = (double)current.Count / reference.Count;
        var statistic = 0.0;
        for (var i = 0; i < counts.Reference.Length; i++)
        {
            var expected = counts.Reference[i] * scale;
            var difference = counts.Current[i] - expected;
            statistic += difference * difference / expected;
        }

        // One label on both sides leaves no degree of freedom: scipy answers NaN, we answer "no difference".
        var degreesOfFreedom = counts.Reference.Length - 1;
        if (degreesOfFreedom == 0)
        {
            return new ChiSquareResult(0.0, 1.0);
        }

        var pValue = double.IsPositiveInfinity(statistic) ? 0.0 : SpecialFunctions.GammaUpperRegularized(degreesOfFreedom / 2.0, statistic / 2);
        return new ChiSquareResult(statistic, pValue);
    }
}
