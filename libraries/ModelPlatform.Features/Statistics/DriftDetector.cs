namespace ModelPlatform.Features.Statistics;

/// <summary>
/// Compares a current dataset (a new version, or a sample of what a model served) with a reference one, column by column,
/// choosing the method as Evidently does by default: a statistical test while the reference is small
/// (Kolmogorov–Smirnov for numbers, chi-square for labels) and a distance once it is large
/// (normalised Wasserstein for numbers, Jensen–Shannon for labels), with the PSI reported beside each.
/// </summary>
public static class DriftDetector
{
    public static DatasetDrift CompareDataset(IEnumerable<ColumnData> reference, IEnumerable<ColumnData> current, DriftOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(current);

        var referenceColumns = reference.ToList();
        var currentColumns = current.ToList();
        var referenceByName = ByName(referenceColumns, nameof(reference));
        var currentByName = ByName(currentColumns, nameof(current));

        // The reference's columns in its order, then those only the current data has.
        var columns = new List<ColumnDrift>(referenceColumns.Count + currentColumns.Count);
        foreach (var referenceColumn in referenceColumns)
        {
            columns.Add(currentByName.TryGetValue(referenceColumn.Name, out var currentColumn)
                ? CompareColumn(referenceColumn, currentColumn, options)
                : NotCompared(referenceColumn, ColumnDriftStatus.MissingInCurrent, referenceColumn.Count, currentCount: 0));
        }

        foreach (var currentColumn in currentColumns)
        {
            if (!referenceByName.ContainsKey(currentColumn.Name))
            {
                columns.Add(NotCompared(currentColumn, ColumnDriftStatus.MissingInReference, referenceCount: 0, currentColumn.Count));
            }
        }

        var compared = columns.Count(column => column.Status == ColumnDriftStatus.Compared);
        var drifted = columns.Count(column => column.Drifted);
        var share = compared == 0 ? 0.0 : (double)drifted / compared;
        return new DatasetDrift(columns, compared, drifted, share, compared > 0 && share >= (options ?? DriftOptions.Default).DriftShare);
    }

    public static ColumnDrift CompareColumn(ColumnData reference, ColumnData current, DriftOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(current);
        options ??= DriftOptions.Default;

        if (reference.IsNumeric != current.IsNumeric)
        {
            return NotCompared(reference, ColumnDriftStatus.TypeMismatch, reference.Count, current.Count);
        }

        if (reference.Count == 0)
        {
            return NotCompared(reference, ColumnDriftStatus.EmptyReference, reference.Count, current.Count);
        }

        if (current.Count == 0)
        {
            return NotCompared(reference, ColumnDriftStatus.EmptyCurrent, reference.Count, current.Count);
        }

        var smallReference = reference.Count <= options.LargeSampleAbove;
        var psi = reference.IsNumeric ? PopulationStabilityIndex.Numeric(reference, current) : PopulationStabilityIndex.Categorical(reference, current);
        var drift = new ColumnDrift(reference.Name, reference.Type, ColumnDriftStatus.Compared, reference.Count, current.Count)
        {
            Psi = Finite(psi),
            PsiDrifted = psi >= options.PsiThreshold,
        };

        if (reference.IsNumeric && smallReference)
        {
            var test = KolmogorovSmirnov.TwoSample(reference, current);
            return WithTest(drift, DriftMethod.KolmogorovSmirnov, test.Statistic, test.PValue, options);
        }

        if (smallReference)
        {
            var test = ChiSquare.GoodnessOfFit(reference, current);
            return WithTest(drift, DriftMethod.ChiSquare, test.Statistic, test.PValue, options);
        }

        var distance = reference.IsNumeric ? Wasserstein.NormalisedDistance(reference, current) : JensenShannon.Distance(reference, current);
        return drift with
        {
            Method = reference.IsNumeric ? DriftMethod.Wasserstein : DriftMethod.JensenShannon,
            Statistic = Finite(distance),
            Threshold = options.DistanceThreshold,
            // An infinite distance (values near double.MaxValue) has drifted; a NaN one says nothing.
            Drifted = distance >= options.DistanceThreshold,
        };
    }

    private static ColumnDrift WithTest(ColumnDrift drift, DriftMethod method, double statistic, double pValue, DriftOptions options) =>
        drift with
        {
            Method = method,
            Statistic = Finite(statistic),
            PValue = pValue,
            Threshold = options.PValueThreshold,
            Drifted = pValue < options.PValueThreshold,
        };

    private static ColumnDrift NotCompared(ColumnData column, ColumnDriftStatus status, long referenceCount, long currentCount) =>
        new(column.Name, column.Type, status, referenceCount, currentCount);

    private static Dictionary<string, ColumnData> ByName(List<ColumnData> columns, string parameterName)
    {
        var byName = new Dictionary<string, ColumnData>(StringComparer.Ordinal);
        foreach (var column in columns)
        {
            ArgumentNullException.ThrowIfNull(column, parameterName);
            if (!byName.TryAdd(column.Name, column))
            {
                throw new ArgumentException($"Column '{column.Name}' appears twice.", parameterName);
            }
        }

        return byName;
    }

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;
}
