using System.Text.Json;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>
/// A record checked against a model's inputs: its values in input order, as ML.NET sees them (a float for numeric and
/// boolean columns, NaN when missing; text for the others, empty when missing).
/// </summary>
public sealed record ModelRecord(float[] Numbers, string[] Texts)
{
    public static ModelRecord Empty(int columns)
    {
        var numbers = new float[columns];
        Array.Fill(numbers, float.NaN);
        var texts = new string[columns];
        Array.Fill(texts, string.Empty);
        return new ModelRecord(numbers, texts);
    }
}

/// <summary>Checks records against a model's signature, collecting every problem rather than stopping at the first.</summary>
public static class RecordReader
{
    private static readonly IReadOnlyDictionary<string, string[]> NoErrors = new Dictionary<string, string[]>();

    /// <summary>Reads the records; problems are keyed by <c>records[i].column</c> (none: an empty dictionary).</summary>
    public static (List<ModelRecord> Records, IReadOnlyDictionary<string, string[]> Errors) Read(
        IReadOnlyList<ColumnSchema> inputs, IReadOnlyList<JsonElement> records)
    {
        var read = new List<ModelRecord>(records.Count);
        // Made at the first problem: valid records, the usual case, allocate nothing for errors.
        Dictionary<string, string[]>? errors = null;
        for (var r = 0; r < records.Count; r++)
        {
            var record = records[r];
            if (record.ValueKind != JsonValueKind.Object)
            {
                (errors ??= new(StringComparer.Ordinal))[$"records[{r}]"] =
                    [$"must be an object of column values, got {record.ValueKind.ToString().ToLowerInvariant()}"];
                continue;
            }

            var values = ModelRecord.Empty(inputs.Count);
            for (var c = 0; c < inputs.Count; c++)
            {
                var input = inputs[c];
                string? error;
                if (!record.TryGetProperty(input.Name, out var value))
                {
                    error = $"is missing; the model needs this {input.Type.ToString().ToLowerInvariant()} column (send null for an unknown value)";
                }
                else if (ColumnValues.IsNumeric(input.Type))
                {
                    error = ColumnValues.TryReadNumber(value, input.Type, out values.Numbers[c]);
                }
                else
                {
                    error = ColumnValues.TryReadText(value, out values.Texts[c]);
                }

                if (error is not null)
                {
                    (errors ??= new(StringComparer.Ordinal))[$"records[{r}].{input.Name}"] = [error];
                }
            }

            read.Add(values);
        }

        return (read, errors ?? NoErrors);
    }

    /// <summary>
    /// Reads one CSV cell for <paramref name="input"/> into <paramref name="record"/> at <paramref name="column"/>, with
    /// the rules of a dataset upload (<see cref="CellValues"/>). Returns null on success, else what was expected.
    /// </summary>
    public static string? ReadCell(ColumnSchema input, string cell, ModelRecord record, int column)
    {
        if (CellValues.IsMissing(cell))
        {
            return null;
        }

        switch (input.Type)
        {
            case ColumnType.Numeric when CellValues.TryParseNumber(cell, out var number) && float.IsFinite((float)number):
                record.Numbers[column] = (float)number;
                return null;
            case ColumnType.Numeric:
                return $"expected a number, got \"{cell}\"";
            case ColumnType.Boolean when bool.TryParse(cell, out var flag):
                record.Numbers[column] = flag ? 1f : 0f;
                return null;
            case ColumnType.Boolean:
                return $"expected true or false, got \"{cell}\"";
            default:
                record.Texts[column] = cell;
                return null;
        }
    }
}
