using System.Globalization;

namespace ModelPlatform.Contracts;

/// <summary>
/// How a CSV cell is read, the same way when a dataset is uploaded and when a model scores a file; and how a value is
/// quoted back in an error message.
/// </summary>
public static class CellValues
{
    private static readonly HashSet<string> MissingMarkers = new(["", "NA", "N/A", "NaN", "null"], StringComparer.OrdinalIgnoreCase);

    /// <summary>Empty cells and NA, N/A, NaN and null (any case) are missing values.</summary>
    public static bool IsMissing(string value) => MissingMarkers.Contains(value.Trim());

    /// <summary>A value as an error message quotes it: at most 40 characters.</summary>
    public static string Truncate(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 40), "…");

    public static bool TryParseNumber(string value, out double number) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out number) && double.IsFinite(number);
}
