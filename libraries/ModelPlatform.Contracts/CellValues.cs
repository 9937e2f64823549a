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

    /// <summary>
    /// An ISO 8601 date and time (<c>2025-03-01T12:00:00Z</c>, <c>2025-03-01 12:00:00+01:00</c>, <c>2025-03-01T12:00</c>), or a
    /// date alone; without an offset it is UTC. Anything that is not shaped yyyy-MM-dd… is not a timestamp, however .NET
    /// would read it.
    /// </summary>
    public static bool TryParseTimestamp(string value, out DateTimeOffset timestamp)
    {
        timestamp = default;
        var text = value.AsSpan().Trim();
        return text.Length >= 10 && char.IsAsciiDigit(text[0]) && text[4] == '-' && text[7] == '-'
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out timestamp);
    }
}
