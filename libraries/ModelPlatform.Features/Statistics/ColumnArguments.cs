namespace ModelPlatform.Features.Statistics;

/// <summary>The checks every test and distance makes of the columns it is given.</summary>
internal static class ColumnArguments
{
    public static void RequireLabels(ColumnData column, string parameterName, string purpose)
    {
        ArgumentNullException.ThrowIfNull(column, parameterName);
        if (column.IsNumeric || column.Count == 0)
        {
            throw new ArgumentException($"Column '{column.Name}' needs labels for {purpose}.", parameterName);
        }
    }

    public static void RequireNumbers(ColumnData column, string parameterName, string purpose)
    {
        ArgumentNullException.ThrowIfNull(column, parameterName);
        if (!column.IsNumeric || column.Count == 0)
        {
            throw new ArgumentException($"Column '{column.Name}' needs numeric values for {purpose}.", parameterName);
        }
    }
}
