using System.ComponentModel.DataAnnotations;

namespace ModelPlatform.Features.Statistics;

/// <summary>When a column, and a dataset, counts as drifted. The defaults are Evidently's.</summary>
public sealed record DriftOptions
{
    public static DriftOptions Default { get; } = new();

    /// <summary>Kolmogorov–Smirnov and chi-square: drifted when the p-value is below this.</summary>
    [Range(0.0, 1.0)]
    public double PValueThreshold { get; init; } = 0.05;

    /// <summary>Normalised Wasserstein and Jensen–Shannon: drifted when the distance is at least this.</summary>
    [Range(0.0, double.MaxValue)]
    public double DistanceThreshold { get; init; } = 0.1;

    /// <summary>Reported beside every column (<see cref="ColumnDrift.PsiDrifted"/>); it does not decide drift.</summary>
    [Range(0.0, double.MaxValue)]
    public double PsiThreshold { get; init; } = 0.1;

    /// <summary>References with more values than this are compared by distance rather than by a test, whose p-values shrink with size.</summary>
    [Range(0, int.MaxValue)]
    public int LargeSampleAbove { get; init; } = 1000;

    /// <summary>The dataset has drifted when at least this share of its compared columns has.</summary>
    [Range(0.0, 1.0)]
    public double DriftShare { get; init; } = 0.5;
}
