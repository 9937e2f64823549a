using System.Text.Json;
using Microsoft.ML;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Explanations;

/// <summary>
/// The typical row of a model's training data, which Shapley explanations measure from: a number's mean (what the
/// pipeline imputes a missing number with), a category's most frequent value, and empty text. It is kept as JSON values,
/// as a record is sent, so it travels with the model version and reads back with <see cref="RecordReader"/>.
/// </summary>
public static class ReferenceRow
{
    /// <summary>Reads the training rows once.</summary>
    public static IReadOnlyDictionary<string, JsonElement> Compute(IDataView rows, IReadOnlyList<ColumnSchema> inputs)
    {
        var columns = inputs.Select(input => rows.Schema[input.Name]).ToArray();
        var sums = new double[inputs.Count];
        var counts = new long[inputs.Count];
        var categories = new Dictionary<string, long>?[inputs.Count];
        using (var cursor = rows.GetRowCursor(columns))
        {
            var reads = new Action[inputs.Count];
            for (var c = 0; c < inputs.Count; c++)
            {
                var column = c;
                if (ColumnValues.IsNumeric(inputs[c].Type))
                {
                    var getter = cursor.GetGetter<float>(columns[c]);
                    reads[c] = () =>
                    {
                        float value = 0;
                        getter(ref value);
                        if (!float.IsNaN(value))
                        {
                            sums[column] += value;
                            counts[column]++;
                        }
                    };
                }
                else if (inputs[c].Type == ColumnType.Categorical)
                {
                    var getter = cursor.GetGetter<ReadOnlyMemory<char>>(columns[c]);
                    var counted = categories[c] = new Dictionary<string, long>(StringComparer.Ordinal);
                    // Counted by the value's characters: a string is made once per distinct value, not once per row.
                    var lookup = counted.GetAlternateLookup<ReadOnlySpan<char>>();
                    reads[c] = () =>
                    {
                        ReadOnlyMemory<char> value = default;
                        getter(ref value);
                        if (!value.IsEmpty)
                        {
                            lookup[value.Span] = lookup.TryGetValue(value.Span, out var count) ? count + 1 : 1;
                        }
                    };
                }
                else
                {
                    reads[c] = () => { };
                }
            }

            while (cursor.MoveNext())
            {
                foreach (var read in reads)
                {
                    read();
                }
            }
        }

        var reference = new Dictionary<string, JsonElement>(inputs.Count, StringComparer.Ordinal);
        for (var c = 0; c < inputs.Count; c++)
        {
            reference[inputs[c].Name] = inputs[c].Type switch
            {
                // The share of true is no boolean; null is imputed with that very mean, which is the model's view of it.
                ColumnType.Boolean => JsonSerializer.SerializeToElement<object?>(null),
                _ when ColumnValues.IsNumeric(inputs[c].Type) =>
                    JsonSerializer.SerializeToElement<double?>(counts[c] == 0 ? null : sums[c] / counts[c]),
                // The most frequent value; of equally frequent ones, the first in ordinal order, so the row does not depend on row order.
                ColumnType.Categorical => JsonSerializer.SerializeToElement(categories[c]!
                    .OrderByDescending(value => value.Value).ThenBy(value => value.Key, StringComparer.Ordinal)
                    .Select(value => value.Key).FirstOrDefault() ?? string.Empty),
                _ => JsonSerializer.SerializeToElement(string.Empty),
            };
        }

        return reference;
    }

    /// <summary>
    /// The reference row as the model reads it. Throws <see cref="InvalidDataException"/> when it does not fit the inputs
    /// (a row from another version of the model).
    /// </summary>
    public static ModelRecord ToRecord(IReadOnlyList<ColumnSchema> inputs, IReadOnlyDictionary<string, JsonElement> reference)
    {
        var (records, errors) = RecordReader.Read(inputs, [JsonSerializer.SerializeToElement(reference)]);
        return errors.Count == 0
            ? records[0]
            : throw new InvalidDataException("The reference row does not fit the model's inputs: "
                + string.Join("; ", errors.Select(error => $"{error.Key[(error.Key.IndexOf('.') + 1)..]} {error.Value[0]}")));
    }
}
