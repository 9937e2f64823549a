using System.Text.Json;
using ModelPlatform.Contracts;
using ModelPlatform.ML;

namespace ModelPlatform.Inference.Protocols;

/// <summary>
/// Reads the friendly API's JSON records against a model's signature, straight from the parsed body: the rules and
/// messages of <see cref="RecordReader.Read"/> (every problem collected, keyed by <c>records[i].column</c>), without
/// copying the records into a list first, with one record object per row and no error dictionary unless one is needed.
/// </summary>
internal static class JsonRecords
{
    /// <summary>The records read, or the problems found (null when there are none).</summary>
    public static (List<ModelRecord> Records, Dictionary<string, string[]>? Errors) Read(ModelSignature signature, JsonElement records)
    {
        var columns = SignatureColumns.For(signature);
        var read = new List<ModelRecord>(records.GetArrayLength());
        Dictionary<string, string[]>? errors = null;
        var r = 0;
        foreach (var record in records.EnumerateArray())
        {
            if (record.ValueKind != JsonValueKind.Object)
            {
                (errors ??= new(StringComparer.Ordinal))[$"records[{r}]"] =
                    [$"must be an object of column values, got {record.ValueKind.ToString().ToLowerInvariant()}"];
                r++;
                continue;
            }

            var values = ModelRecord.Empty(columns.Count);
            for (var c = 0; c < columns.Count; c++)
            {
                var input = columns.Inputs[c];
                string? error;
                if (!record.TryGetProperty(columns.Utf8Names[c], out var value))
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
            r++;
        }

        return (read, errors);
    }
}
