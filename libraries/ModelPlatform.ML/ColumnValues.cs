using System.Globalization;
using System.Text.Json;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>
/// Converts JSON values to the representation ML.NET sees: numbers and booleans as <see cref="float"/>
/// (missing = NaN, which the pipeline imputes), categorical and text columns as text (missing = empty).
/// Each method returns null on success, else a message that says what was expected.
/// </summary>
public static class ColumnValues
{
    /// <summary>Whether the column is fed to ML.NET as a float (else as text).</summary>
    public static bool IsNumeric(ColumnType type) => type is ColumnType.Numeric or ColumnType.Boolean;

    public static string? TryReadNumber(JsonElement value, ColumnType type, out float result)
    {
        result = float.NaN;
        switch (value.ValueKind)
        {
            case JsonValueKind.Null or JsonValueKind.Undefined:
                return null;
            case JsonValueKind.Number when type == ColumnType.Numeric:
                result = (float)value.GetDouble();
                return float.IsFinite(result) ? null : "the number is outside the range of a 32-bit float";
            case JsonValueKind.True or JsonValueKind.False when type == ColumnType.Boolean:
                result = value.ValueKind == JsonValueKind.True ? 1f : 0f;
                return null;
            default:
                return type == ColumnType.Boolean
                    ? $"expected true, false or null, got {Describe(value)}"
                    : $"expected a number or null, got {Describe(value)}";
        }
    }

    public static string? TryReadText(JsonElement value, out string result)
    {
        result = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Null or JsonValueKind.Undefined => string.Empty,
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => CanonicalText(value)!,
            _ => string.Empty,
        };
        return value.ValueKind is JsonValueKind.Object or JsonValueKind.Array
            ? $"expected a string, number, boolean or null, got {Describe(value)}"
            : null;
    }

    /// <summary>
    /// The text that stands for a scalar label value: numbers in shortest round-trip form ("3", not "3.0"),
    /// booleans as "true"/"false". Null for missing values.
    /// </summary>
    public static string? CanonicalText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.GetDouble().ToString("R", CultureInfo.InvariantCulture),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => null,
    };

    /// <summary>Turns a class name back into the value the data used: a number, a boolean or a string.</summary>
    public static object LabelValue(string className, ColumnType labelType)
    {
        if (labelType == ColumnType.Numeric && double.TryParse(className, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return number == Math.Floor(number) && Math.Abs(number) < 1e15 ? (long)number : (object)number;
        }

        if (labelType == ColumnType.Boolean && bool.TryParse(className, out var flag))
        {
            return flag;
        }

        return className;
    }

    /// <summary>A predicted label as text, as CSV answers and files of predictions write it: <c>true</c>, <c>3</c>, <c>spam</c>.</summary>
    public static string LabelText(object? label) => label switch
    {
        JsonElement element => CanonicalText(element) ?? "",
        bool flag => flag ? "true" : "false",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => label?.ToString() ?? "",
    };

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{CellValues.Truncate(value.GetString()!)}\"",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {value.GetRawText()}",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => value.ValueKind.ToString().ToLowerInvariant(),
    };
}
