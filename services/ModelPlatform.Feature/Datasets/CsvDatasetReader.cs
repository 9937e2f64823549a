using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using ModelPlatform.Contracts;

namespace ModelPlatform.Feature.Datasets;

/// <summary>
/// How large a dataset may be, beyond the upload's byte limit: what bounds the rows the store writes and the memory a
/// parse takes, whatever shape the bytes have.
/// </summary>
public sealed record CsvLimits(int MaxColumnNameLength = 128, int MaxColumns = 1000, int MaxCellCharacters = 65_536, int MaxRows = 1_000_000);

/// <summary>What the first pass over an upload found: its typed columns, its separator, and how many data rows it has.</summary>
/// <param name="Delimiter">The field separator found in the file: a comma, semicolon, tab or vertical bar.</param>
public sealed record CsvShape(IReadOnlyList<ColumnSchema> Columns, string Delimiter, int Rows);

/// <summary>A CSV read whole, parsed and typed: the inferred schema and each row's values (double, bool, string, DateTimeOffset or null).</summary>
public sealed record ParsedDataset(IReadOnlyList<ColumnSchema> Columns, IReadOnlyList<object?[]> Rows, string Delimiter = ",");

/// <summary>The upload is not a usable CSV; <see cref="Line"/> is 1-based, or null when the whole file is at fault.</summary>
public sealed class CsvFormatException(string message, int? line = null) : Exception(message)
{
    public int? Line { get; } = line;
}

/// <summary>
/// Reads an RFC 4180 CSV with a header row, separated by commas, semicolons, tabs or vertical bars (whichever the file
/// uses), in UTF-8 (a byte-order mark is dropped) or UTF-16 with a byte-order mark. Anything else is refused: bytes that
/// are not UTF-8 and NUL characters (a binary file), markup (HTML or XML), and a one-column header that holds another
/// separator. It infers each column's type from its values:
/// <list type="bullet">
/// <item>boolean when every value is true or false (any case);</item>
/// <item>numeric when every value is a number (invariant culture: 1.5, -2, 3e-4);</item>
/// <item>timestamp when every value is an ISO 8601 date and time (2025-03-01T12:00:00Z; UTC without an offset);</item>
/// <item>text when values average more than two words (free text such as reviews or messages);</item>
/// <item>categorical otherwise.</item>
/// </list>
/// Empty cells and NA, N/A, NaN and null are missing values and do not count against a type.
/// An upload is read in two passes that stream, so it never sits in memory: <see cref="InspectAsync"/> checks every line
/// and infers the types, keeping only counts per column; <see cref="ReadRowsAsync"/> then yields the typed rows.
/// </summary>
public static class CsvDatasetReader
{
    /// <summary>The limits of the defaults, for callers (and tests) that take them as they are.</summary>
    public static readonly CsvLimits DefaultLimits = new();

    // Each read of the upload's file is a trip to the thread pool; StreamReader's default of 1 KiB made them most of a pass.
    private const int ReadBufferBytes = 64 * 1024;

    private static readonly string[] Delimiters = [",", ";", "\t", "|"];

    // Throws on bytes that no UTF-8 text has, rather than reading them as replacement characters.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads a whole CSV into memory (both passes): for small inputs such as tests.</summary>
    public static Task<ParsedDataset> ReadAsync(Stream csv, CancellationToken cancellationToken) => ReadAsync(csv, DefaultLimits, cancellationToken);

    /// <inheritdoc cref="ReadAsync(Stream, CancellationToken)"/>
    public static async Task<ParsedDataset> ReadAsync(Stream csv, CsvLimits limits, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await csv.CopyToAsync(buffer, cancellationToken);
        buffer.Position = 0;
        var shape = await InspectAsync(buffer, limits, cancellationToken);
        buffer.Position = 0;
        var rows = new List<object?[]>(shape.Rows);
        await foreach (var row in ReadRowsAsync(buffer, shape, limits, cancellationToken))
        {
            rows.Add(row);
        }

        return new ParsedDataset(shape.Columns, rows, shape.Delimiter);
    }

    /// <summary>The first pass: checks every line against the header and the limits, and infers each column's type.</summary>
    public static async Task<CsvShape> InspectAsync(Stream csv, CsvLimits limits, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(csv, StrictUtf8, detectEncodingFromByteOrderMarks: true, ReadBufferBytes, leaveOpen: true);
        using var parser = new CsvParser(reader, Configuration(limits, delimiter: null));
        try
        {
            // Markup saved as .csv (an error page, a feed) is not a table, whatever it would split into.
            if (reader.Peek() == '<')
            {
                throw new CsvFormatException("Line 1: the file starts with '<': it looks like HTML or XML, not a CSV with a header row.", 1);
            }

            return await InspectAsync(parser, limits, cancellationToken);
        }
        catch (MaxFieldSizeException)
        {
            throw new CsvFormatException(
                $"Line {parser.RawRow}: a cell is longer than {limits.MaxCellCharacters:N0} characters, the most a cell may hold.", parser.RawRow);
        }
        catch (DecoderFallbackException)
        {
            var line = csv.CanSeek ? await LineOfFirstInvalidByteAsync(csv, cancellationToken) : Math.Max(parser.RawRow, 1);
            throw new CsvFormatException(
                $"Line {line}: the file is not text: it holds bytes that UTF-8 text never has, as images and other binary "
                + "files do. Upload a CSV saved as UTF-8 (or UTF-16 with a byte-order mark).",
                line);
        }
    }

    /// <summary>
    /// The line of the first byte that is not UTF-8, read again from the start: the decoder works a block at a time, so the
    /// parser's line when it fails is the block's first, not the byte's.
    /// </summary>
    private static async Task<int> LineOfFirstInvalidByteAsync(Stream csv, CancellationToken cancellationToken)
    {
        csv.Position = 0;
        var bytes = new byte[64 * 1024];
        var chars = new char[bytes.Length];
        var (line, kept) = (1, 0);
        while (true)
        {
            var read = await csv.ReadAsync(bytes.AsMemory(kept), cancellationToken);
            var length = kept + read;
            var status = System.Text.Unicode.Utf8.ToUtf16(
                bytes.AsSpan(0, length), chars, out var consumed, out _, replaceInvalidSequences: false, isFinalBlock: read == 0);
            line += bytes.AsSpan(0, consumed).Count((byte)'\n');
            if (status == OperationStatus.InvalidData || read == 0)
            {
                return line;
            }

            // A character cut at the end of the block is completed by the next.
            kept = length - consumed;
            bytes.AsSpan(consumed, kept).CopyTo(bytes);
        }
    }

    /// <summary>The second pass, over the same bytes <see cref="InspectAsync"/> accepted: each row, typed as its column.</summary>
    public static async IAsyncEnumerable<object?[]> ReadRowsAsync(
        Stream csv, CsvShape shape, CsvLimits limits, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(csv, StrictUtf8, detectEncodingFromByteOrderMarks: true, ReadBufferBytes, leaveOpen: true);
        using var parser = new CsvParser(reader, Configuration(limits, shape.Delimiter));
        await parser.ReadAsync();
        while (await parser.ReadAsync())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var record = parser.Record!;
            var row = new object?[shape.Columns.Count];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = Convert(record[i], shape.Columns[i].Type);
            }

            yield return row;
        }
    }

    private static CsvConfiguration Configuration(CsvLimits limits, string? delimiter) => new(CultureInfo.InvariantCulture)
    {
        // The parser itself stops at the cell limit, so an unclosed quote cannot make one cell of the whole file.
        MaxFieldSize = limits.MaxCellCharacters,
        BadDataFound = args =>
        {
            // Name the line the record starts on, counting back the line breaks inside it. A quote that never closes runs to
            // the end of the file, so every break after it is inside the record, the last one too.
            var unclosed = args.Field.StartsWith('"') && !args.Field.TrimEnd('\r', '\n').EndsWith('"');
            var breaks = (unclosed ? args.RawRecord : args.RawRecord.TrimEnd('\r', '\n')).Count('\n');
            var line = args.Context.Parser!.RawRow - breaks;
            throw new CsvFormatException(unclosed
                ? $"Line {line}: a quoted field opens here and is never closed: \"{CellValues.Truncate(args.Field)}\"."
                : $"Line {line}: malformed quoting in field \"{CellValues.Truncate(args.Field)}\".", line);
        },
        TrimOptions = TrimOptions.Trim,
        DetectDelimiter = delimiter is null,
        DetectDelimiterValues = Delimiters,
        Delimiter = delimiter ?? ",",
    };

    private static async Task<CsvShape> InspectAsync(CsvParser parser, CsvLimits limits, CancellationToken cancellationToken)
    {
        if (!await parser.ReadAsync())
        {
            throw new CsvFormatException("The CSV is empty: expected a header row and at least one data row.");
        }

        var header = parser.Record!;
        RefuseBinary(header, parser.RawRow);
        ValidateHeader(header, parser.RawRow, limits);

        var columns = header.Select(_ => new ColumnValuesSeen()).ToArray();
        var rows = 0;
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

            if (rows == limits.MaxRows)
            {
                throw new CsvFormatException($"Line {parser.RawRow}: the CSV has more than {limits.MaxRows:N0} data rows, the most a version may hold.",
                    parser.RawRow);
            }

            for (var i = 0; i < record.Length; i++)
            {
                columns[i].Add(record[i]);
            }

            rows++;
        }

        if (rows == 0)
        {
            throw new CsvFormatException("The CSV has a header but no data rows.", 1);
        }

        return new CsvShape(header.Select((name, i) => new ColumnSchema(name, columns[i].Type)).ToList(), parser.Delimiter, rows);
    }

    private static void RefuseBinary(string[] fields, int line)
    {
        if (fields.Any(field => field.Contains('\0', StringComparison.Ordinal)))
        {
            throw new CsvFormatException($"Line {line}: a NUL character, which text never holds: the file looks binary, not a CSV.", line);
        }
    }

    private static void ValidateHeader(string[] header, int line, CsvLimits limits)
    {
        if (header.Length > limits.MaxColumns)
        {
            throw new CsvFormatException(
                $"Line {line}: the header has {header.Length:N0} columns; the most a dataset may have is {limits.MaxColumns:N0}.", line);
        }

        for (var i = 0; i < header.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(header[i]))
            {
                throw new CsvFormatException($"Line {line}: header field {i + 1} is empty; every column needs a name.", line);
            }

            if (header[i].Length > limits.MaxColumnNameLength)
            {
                throw new CsvFormatException(
                    $"Line {line}: the name of column {i + 1}, \"{CellValues.Truncate(header[i])}\", is {header[i].Length:N0} characters; "
                    + $"the most is {limits.MaxColumnNameLength}.",
                    line);
            }
        }

        // No separator was found in the header; one it holds is one this reader does not split on, or the file is not a table.
        if (header.Length == 1 && header[0].IndexOfAny([';', '\t', '|', ':']) is var at and >= 0)
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

    /// <summary>What the first pass learns of a column, value by value: enough to infer its type without keeping the values.</summary>
    private sealed class ColumnValuesSeen
    {
        private int _values;
        private long _words;
        private bool _allBoolean = true;
        private bool _allNumeric = true;
        private bool _allTimestamps = true;

        public ColumnType Type => _values == 0 ? ColumnType.Categorical
            : _allBoolean ? ColumnType.Boolean
            : _allNumeric ? ColumnType.Numeric
            : _allTimestamps ? ColumnType.Timestamp
            : (double)_words / _values > 2 ? ColumnType.Text
            : ColumnType.Categorical;

        public void Add(string value)
        {
            if (CellValues.IsMissing(value))
            {
                return;
            }

            _values++;
            _allBoolean = _allBoolean && bool.TryParse(value, out _);
            _allNumeric = _allNumeric && CellValues.TryParseNumber(value, out _);
            _allTimestamps = _allTimestamps && CellValues.TryParseTimestamp(value, out _);
            _words += Words(value);
        }

        private static int Words(string value)
        {
            var (words, inWord) = (0, false);
            foreach (var c in value)
            {
                var letter = !char.IsWhiteSpace(c);
                words += letter && !inWord ? 1 : 0;
                inWord = letter;
            }

            return words;
        }
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
            ColumnType.Timestamp => CellValues.TryParseTimestamp(value, out var timestamp) ? timestamp : null,
            _ => value,
        };
    }
}
