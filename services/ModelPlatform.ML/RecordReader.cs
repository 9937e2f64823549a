using System.Text.Json;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>A record checked against a model's inputs: its values in input order (float or string).</summary>
internal sealed record ModelRecord(float[] Numbers, string[] Texts);

/// <summary>Checks records against a model's signature, collecting every problem rather than stopping at the first.</summary>
internal static class RecordReader
{
    /// <summary>Reads the records; problems are keyed by <c>records[i].column</c>.</summary>
    public static (List<ModelRecord> Records, Dictionary<string, string[]> Errors) Read(
        IReadOnlyList<ColumnSchema> inputs, IReadOnlyList<JsonElement> records)
    {
        var read = new List<ModelRecord>(records.Count);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        for (var r = 0; r < records.Count; r++)
        {
            var record = records[r];
            if (record.ValueKind != JsonValueKind.Object)
            {
                errors[$"records[{r}]"] = [$"must be an object of column values, got {record.ValueKind.ToString().ToLowerInvariant()}"];
                continue;
            }

            var numbers = new float[inputs.Count];
            var texts = new string[inputs.Count];
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
                    error = ColumnValues.TryReadNumber(value, input.Type, out numbers[c]);
                }
                else
                {
                    error = ColumnValues.TryReadText(value, out texts[c]);
                }

                if (error is not null)
                {
                    errors[$"records[{r}].{input.Name}"] = [error];
                }
            }

            read.Add(new ModelRecord(numbers, texts));
        }

        return (read, errors);
    }
}
