namespace ModelPlatform.Features.Statistics;

/// <summary>
/// How a dataset moved, column by column. The share counts only columns that could be compared,
/// so a column missing on one side is reported but neither drifts nor dilutes the share.
/// </summary>
/// <param name="DriftedShare">DriftedColumns / ComparedColumns, 0 when nothing could be compared.</param>
/// <param name="Drifted">DriftedShare at or above <see cref="DriftOptions.DriftShare"/>, with at least one column compared.</param>
public sealed record DatasetDrift(
    IReadOnlyList<ColumnDrift> Columns,
    int ComparedColumns,
    int DriftedColumns,
    double DriftedShare,
    bool Drifted);
