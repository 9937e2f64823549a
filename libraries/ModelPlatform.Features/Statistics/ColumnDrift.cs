using System.Text.Json.Serialization;
using ModelPlatform.Contracts;

namespace ModelPlatform.Features.Statistics;

/// <summary>
/// How one column moved between a reference and a current dataset.
/// <see cref="Threshold"/> applies to <see cref="PValue"/> for the tests (drifted below it)
/// and to <see cref="Statistic"/> for the distances (drifted at or above it).
/// Nothing here is NaN or infinite: what has no value is null.
/// </summary>
/// <param name="Statistic">
/// D for ks, χ² for chisquare, the normalised distance for wasserstein and jensenshannon. Null when no test ran,
/// or when the value is infinite: χ² is when the current data has a label the reference never had (its p-value is then 0).
/// </param>
/// <param name="PValue">For ks and chisquare.</param>
/// <param name="Psi">The population stability index, reported for every compared column.</param>
/// <param name="PsiDrifted">PSI at or above <see cref="DriftOptions.PsiThreshold"/>; informational, it does not set <see cref="Drifted"/>.</param>
public sealed record ColumnDrift(
    string Name,
    ColumnType Type,
    ColumnDriftStatus Status,
    long ReferenceCount,
    long CurrentCount,
    DriftMethod? Method = null,
    double? Statistic = null,
    double? PValue = null,
    double? Threshold = null,
    bool Drifted = false,
    double? Psi = null,
    bool PsiDrifted = false);

[JsonConverter(typeof(JsonStringEnumConverter<DriftMethod>))]
public enum DriftMethod
{
    /// <summary>Two-sample Kolmogorov–Smirnov test (numbers, small reference).</summary>
    [JsonStringEnumMemberName("ks")] KolmogorovSmirnov,
    /// <summary>Chi-square goodness of fit (labels, small reference).</summary>
    [JsonStringEnumMemberName("chisquare")] ChiSquare,
    /// <summary>Wasserstein distance over the reference's deviation (numbers, large reference).</summary>
    [JsonStringEnumMemberName("wasserstein")] Wasserstein,
    /// <summary>Jensen–Shannon distance of the label proportions (labels, large reference).</summary>
    [JsonStringEnumMemberName("jensenshannon")] JensenShannon,
}

[JsonConverter(typeof(JsonStringEnumConverter<ColumnDriftStatus>))]
public enum ColumnDriftStatus
{
    /// <summary>Both sides had values of the same kind, and a method ran.</summary>
    [JsonStringEnumMemberName("compared")] Compared,
    [JsonStringEnumMemberName("missingInReference")] MissingInReference,
    [JsonStringEnumMemberName("missingInCurrent")] MissingInCurrent,
    /// <summary>The reference has the column but no values in it.</summary>
    [JsonStringEnumMemberName("emptyReference")] EmptyReference,
    /// <summary>The current data has the column but no values in it.</summary>
    [JsonStringEnumMemberName("emptyCurrent")] EmptyCurrent,
    /// <summary>Numbers on one side, labels on the other.</summary>
    [JsonStringEnumMemberName("typeMismatch")] TypeMismatch,
}
