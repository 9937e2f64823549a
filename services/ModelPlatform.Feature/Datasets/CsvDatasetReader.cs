using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using ModelPlatform.Contracts;

namespace ModelPlatform.Feature.Datasets;

/// <summary>A CSV upload, parsed and typed: the inferred schema and each row's values (double, bool, string or null).</summary>
public sealed record ParsedDataset(IReadOnlyList<ColumnSchema> Columns, IReadOnlyList<object?[]> Rows);

/// <summary>The upload is not a usable CSV; <see cref="Line"/> is 1-based, or null when the whole file is at fault.</summary>
public sealed class CsvFormatException(string message, int? line = null) : Exception(message)
{
    public int? Line { get; } = line;
}

/// <summary>
/// Reads an RFC 4180 CSV with a header row and infers each column's type from its values:
/// <list type="bullet">
/// <item>boolean when every value is true or false (any case);</item>
/// <item>numeric when every value is a number (invariant culture: 1.5, -2, 3e-4);</item>
/// <item>text when values average more than two words (free text such as reviews or messages);</item>
/// <item>categorical otherwise.</item>
/// </list>
/// Empty cells and NA, N/A, NaN and null are missing values and do not count against a type.
/// </summary>
public static class CsvDatasetReader
{
    public static async Task<ParsedDataset> ReadAsync(Stream csv, CancellationToken cancellationToken)
    {
        var (header, cells) = await ReadCellsAsync(csv, cancellationToken);
        var columns = header.Select((name, index) => new ColumnSchema(name, InferType(cells, index))).ToList();
        var rows = cells.Select(row => columns.Select((column, index) => Convert(row[index], column.Type)).ToArray()).ToList();
        return new ParsedDataset(columns, rows);
    }

    private static async Task<(string[] Header, List<string[]> Rows)> ReadCellsAsync(Stream csv, CancellationToken cancellationToken)
    {
        var configuration = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            BadDataFound = args => throw new CsvFormatException(
                $"Line {args.Context.Parser!.RawRow}: malformed quoting in field \"{CellValues.Truncate(args.Field)}\".", args.Context.Parser.RawRow),
            TrimOptions = TrimOptions.Trim,
        };
        using var reader = new StreamReader(csv, detectEncodingFromByteOrderMarks: true);
        using var parser = new CsvParser(reader, configuration);

        if (!await parser.ReadAsync())
        {
            throw new CsvFormatException("The CSV is empty: expected a header row and at least one data row.");
        }

        var header = parser.Record!;
        ValidateHeader(header, parser.RawRow);

        var rows = new List<string[]>();
        while (await parser.ReadAsync())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var record = parser.Record!;
            if (record.Length != header.Length)
            {
                throw new CsvFormatException(
                    $"Line {parser.RawRow}: expected {header.Length} fields as in the header, found {record.Length}.", parser.RawRow);
            }

            rows.Add(record);
        }

        if (rows.Count == 0)
        {
            throw new CsvFormatException("The CSV has a header but no data rows.", 1);
        }

        return (header, rows);
    }

    private static void ValidateHeader(string[] header, int line)
    {
        for (var i = 0; i < header.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(header[i]))
            {
                throw new CsvFormatException($"Line {line}: header field {i + 1} is empty; every column needs a name.", line);
            }
        }

        var duplicate = header.GroupBy(name => name, StringComparer.Ordinal).FirstOrDefault(group => group.Count() > 1);
        if (duplicate is not null)
        {
            throw new CsvFormatException($"Line {line}: the column name '{duplicate.Key}' appears more than once in the header.", line);
        }

        // A header of numbers is almost always a file without one.
        if (header.All(name => double.TryParse(name, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
        {
            throw new CsvFormatException($"Line {line}: the first row holds only numbers; the CSV needs a header row with column names.", line);
        }
    }

    internal static ColumnType InferType(IReadOnlyList<string[]> rows, int column)
    {
        var values = rows.Select(row => row[column]).Where(value => !CellValues.IsMissing(value)).ToList();
        if (values.Count == 0)
        {
            return ColumnType.Categorical;
        }

        if (values.All(value => bool.TryParse(value, out _)))
        {
            return ColumnType.Boolean;
        }

        if (values.All(value => CellValues.TryParseNumber(value, out _)))
        {
            return ColumnType.Numeric;
        }

        var meanWords = values.Average(value => value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length);
        return meanWords > 2 ? ColumnType.Text : ColumnType.Categorical;
    }

    private static object? Convert(string value, ColumnType type)
    {
        if (CellValues.IsMissing(value))
        {
            return null;
        }

        return type switch
        {
            ColumnType.Numeric => CellValues.TryParseNumber(value, out var number) ? number : null,
            ColumnType.Boolean => bool.Parse(value),
            _ => value,
        };
    }
}
