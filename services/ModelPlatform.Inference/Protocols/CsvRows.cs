using System.Globalization;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using ModelPlatform.Contracts;
using ModelPlatform.ML;

namespace ModelPlatform.Inference.Protocols;

/// <summary>
/// Rows of a CSV file as model records, matched to the model's inputs by the header's column names. Cells are read
/// with the rules of a dataset upload (<see cref="RecordReader.ReadCell"/>).
/// </summary>
internal sealed class CsvRows(Stream body, IReadOnlyList<ColumnSchema> inputs) : IDisposable
{
    private static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
    private readonly StreamReader _reader = new(body, Utf8, detectEncodingFromByteOrderMarks: true, leaveOpen: true);
    private CsvParser? _parser;
    private int[] _columns = [];
    private int _fields;

    /// <summary>Reads the header; returns what is wrong with it (an input it lacks, a file with no header).</summary>
    public async Task<List<(string Key, string Error)>> ReadHeaderAsync()
    {
        _parser = new CsvParser(_reader, new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            BadDataFound = args => throw new BadHttpRequestException(
                $"Line {args.Context.Parser!.RawRow}: malformed quoting in field \"{CellValues.Truncate(args.Field)}\".", StatusCodes.Status400BadRequest),
            TrimOptions = TrimOptions.Trim,
        });
        if (!await _parser.ReadAsync())
        {
            return [("body", "is empty: send a header row naming the model's columns, then the rows to score")];
        }

        var header = _parser.Record!;
        _fields = header.Length;
        _columns = [.. inputs.Select(input => Array.IndexOf(header, input.Name))];
        return [.. inputs.Where((_, c) => _columns[c] < 0).Select(input =>
            ($"header.{input.Name}", $"lacks the column '{input.Name}' ({input.Type.ToString().ToLowerInvariant()}) that the model needs"))];
    }

    /// <summary>
    /// Reads the next row into <paramref name="record"/> (every input column is written); false at the end. The row's
    /// problems, keyed by line and column, are added to <paramref name="errors"/> (none when it is null).
    /// </summary>
    public async ValueTask<bool> ReadAsync(ModelRecord record, Dictionary<string, string[]>? errors)
    {
        if (!await _parser!.ReadAsync())
        {
            return false;
        }

        if (_parser.Count != _fields)
        {
            if (errors is not null)
            {
                errors[$"line {_parser.RawRow}"] = [$"has {_parser.Count} fields; the header has {_fields}"];
            }

            return true;
        }

        for (var c = 0; c < inputs.Count; c++)
        {
            var input = inputs[c];
            // A cell left missing reads as nothing: reset what a reused record held.
            if (ColumnValues.IsNumeric(input.Type))
            {
                record.Numbers[c] = float.NaN;
            }
            else
            {
                record.Texts[c] = string.Empty;
            }

            if (RecordReader.ReadCell(input, _parser[_columns[c]], record, c) is { } error && errors is not null)
            {
                errors[$"line {_parser.RawRow}.{input.Name}"] = [error];
            }
        }

        return true;
    }

    public void Dispose()
    {
        _parser?.Dispose();
        _reader.Dispose();
    }
}
