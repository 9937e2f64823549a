using System.Globalization;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using ModelPlatform.Contracts;

namespace ModelPlatform.Feature.Datasets;

/// <summary>A CSV upload, parsed and typed: the inferred schema and each row's values (double, bool, string or null).</summary>
/// <param name="Delimiter">The field separator found in the file: a comma, semicolon, tab or vertical bar.</param>
public sealed record ParsedDataset(IReadOnlyList<ColumnSchema> Columns, IReadOnlyList<object?[]> Rows, string Delimiter = ",");

/// <summary>The upload is not a usable CSV; <see cref="Line"/> is 1-based, or null when the whole file is at fault.</summary>
public sealed class CsvFormatException(string message, int? line = null) : Exception(message)
{
    public int? Line { get; } = line;
}

/// <summary>
/// Reads an RFC 4180 CSV with a header row, separated by commas, semicolons, tabs or vertical bars (whichever the file
/// uses), in UTF-8 (a byte-order mark is dropped) or UTF-16 with a byte-order mark. Anything else is refused: bytes that
/// are not UTF-8 and NUL characters (a binary file), and a one-column header that holds another separator. It infers
/// each column's type from its values:
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
    private static readonly string[] Delimiters = [",", ";", "\t", "|"];

    // Throws on bytes that no UTF-8 text has, rather than reading them as replacement characters.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static async Task<ParsedDataset> ReadAsync(Stream csv, CancellationToken cancellationToken)
    {
        var (header, cells, delimiter) = await ReadCellsAsync(csv, cancellationToken);
        var columns = header.Select((name, index) => new ColumnSchema(name, InferType(cells, index))).ToList();
        var rows = cells.Select(row => columns.Select((column, index) => Convert(row[index], column.Type)).ToArray()).ToList();
        return new ParsedDataset(columns, rows, delimiter);
    }

    private static async Task<(string[] Header, List<string[]> Rows, string Delimiter)> ReadCellsAsync(Stream csv, CancellationToken cancellationToken)
    {
        var configuration = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            BadDataFound = args => throw new CsvFormatException(
                $"Line {args.Context.Parser!.RawRow}: malformed quoting in field \"{CellValues.Truncate(args.Field)}\".", args.Context.Parser.RawRow),
            TrimOptions = TrimOptions.Trim,
            DetectDelimiter = true,
            DetectDelimiterValues = Delimiters,
        };
        using var reader = new StreamReader(csv, StrictUtf8, detectEncodingFromByteOrderMarks: true);
        using var parser = new CsvParser(reader, configuration);
        try
        {
            return await ReadCellsAsync(parser, cancellationToken);
        }
        catch (DecoderFallbackException)
        {
            throw new CsvFormatException(
                $"Line {Math.Max(parser.RawRow, 1)}: the file is not text: it holds bytes that UTF-8 text never has, as images and other binary "
                + "files do. Upload a CSV saved as UTF-8 (or UTF-16 with a byte-order mark).",
                Math.Max(parser.RawRow, 1));
        }
    }

    private static async Task<(string[] Header, List<string[]> Rows, string Delimiter)> ReadCellsAsync(CsvParser parser, CancellationToken cancellationToken)
    {
        if (!await parser.ReadAsync())
        {
            throw new CsvFormatException("The CSV is empty: expected a header row and at least one data row.");
        }

        var header = parser.Record!;
        RefuseBinary(header, parser.RawRow);
        ValidateHeader(header, parser.RawRow);

        var rows = new List<string[]>();
        while (await parser.ReadAsync())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var record = parser.Record!;
            RefuseBinary(record, parser.RawRow);
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

        return (header, rows, parser.Delimiter);
    }

    private static void RefuseBinary(string[] fields, int line)
    {
        if (fields.Any(field => field.Contains('\0', StringComparison.Ordinal)))
        {
            throw new CsvFormatException($"Line {line}: a NUL character, which text never holds: the file looks binary, not a CSV.", line);
        }
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

        // No separator was found in the header; one it holds is one this reader does not split on, or the file is not a table.
        if (header.Length == 1 && header[0].IndexOfAny([';', '\t', '|']) is var at and >= 0)
        {
            throw new CsvFormatException(
                $"Line {line}: the header is one column, \"{CellValues.Truncate(header[0])}\", that holds '{Printable(header[0][at])}': separate "
                + "columns with commas, semicolons, tabs or vertical bars.",
                line);
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

    private static string Printable(char separator) => separator == '\t' ? "\\t" : separator.ToString();

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
