using System.Text.Json;
using ModelPlatform.Contracts;
using ModelPlatform.Features.Statistics;

namespace ModelPlatform.Feature.Datasets;

/// <summary>
/// A sample's columns, typed by the dataset version they are compared with, as drift takes them: numbers for numeric and
/// timestamp columns, labels for the others (booleans as true/false, as <see cref="DatasetColumns"/> reads them).
/// </summary>
public static class SampleColumns
{
    /// <summary>The columns, or the problems keyed by field (<c>columns[2].values[17]</c>): one per column at most.</summary>
    public static (List<ColumnData>? Columns, Dictionary<string, string[]> Problems) Read(SampleDriftRequest sample, DatasetVersionInfo version)
    {
        var problems = new Dictionary<string, string[]>();
        if (sample.Columns is not { Count: > 0 })
        {
            problems["columns"] = ["must name at least one column of the version, with its values"];
            return (null, problems);
        }

        var types = version.Columns.ToDictionary(column => column.Name, column => column.Type, StringComparer.Ordinal);
        var columns = new List<ColumnData>(sample.Columns.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var c = 0; c < sample.Columns.Count; c++)
        {
            var (name, values) = (sample.Columns[c].Name, sample.Columns[c].Values ?? []);
            if (name is null || !types.TryGetValue(name, out var type))
            {
                problems[$"columns[{c}].name"] = [$"'{name}' is not a column of {version.Name} v{version.Version}"];
            }
            else if (!seen.Add(name))
            {
                problems[$"columns[{c}].name"] = [$"'{name}' is given twice"];
            }
            else if (Read(name, type, values, out var error) is { } column)
            {
                columns.Add(column);
            }
            else
            {
                problems[$"columns[{c}].values[{error.Index}]"] = [error.Message];
            }
        }

        return problems.Count > 0 ? (null, problems) : (columns, problems);
    }

    private static ColumnData? Read(string name, ColumnType type, IReadOnlyList<JsonElement> values, out (int Index, string Message) error)
    {
        error = default;
        if (type is ColumnType.Numeric or ColumnType.Timestamp)
        {
            var numbers = new double[values.Count];
            for (var i = 0; i < values.Count; i++)
            {
                switch (values[i].ValueKind)
                {
                    case JsonValueKind.Number:
                        numbers[i] = values[i].GetDouble();
                        break;
                    case JsonValueKind.Null:
                        numbers[i] = double.NaN;
                        break;
                    default:
                        error = (i, $"must be a number or null: '{name}' is a {Describe(type)} column");
                        return null;
                }
            }

            return ColumnData.Numeric(name, numbers);
        }

        var labels = new string?[values.Count];
        for (var i = 0; i < values.Count; i++)
        {
            var value = values[i];
            labels[i] = (value.ValueKind, type) switch
            {
                (JsonValueKind.Null, _) => null,
                (JsonValueKind.True or JsonValueKind.False, ColumnType.Boolean) => value.GetBoolean() ? "true" : "false",
                (JsonValueKind.String, not ColumnType.Boolean) => value.GetString(),
                _ => Invalid(i, type, name, out error),
            };

            if (error.Message is not null)
            {
                return null;
            }
        }

        return ColumnData.Categorical(name, type, labels);
    }

    private static string? Invalid(int index, ColumnType type, string name, out (int Index, string Message) error)
    {
        error = (index, $"must be {(type == ColumnType.Boolean ? "true, false" : "a string")} or null: '{name}' is a {Describe(type)} column");
        return null;
    }

    private static string Describe(ColumnType type) => type.ToString().ToLowerInvariant();
}
