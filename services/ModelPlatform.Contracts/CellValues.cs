using System.Globalization;

namespace ModelPlatform.Contracts;

/// <summary>How a CSV cell is read, the same way when a dataset is uploaded and when a model scores a file.</summary>
public static class CellValues
{
    private static readonly HashSet<string> MissingMarkers = new(["", "NA", "N/A", "NaN", "null"], StringComparer.OrdinalIgnoreCase);

    /// <summary>Empty cells and NA, N/A, NaN and null (any case) are missing values.</summary>
    public static bool IsMissing(string value) => MissingMarkers.Contains(value.Trim());

    public static bool TryParseNumber(string value, out double number) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out number) && double.IsFinite(number);
}
