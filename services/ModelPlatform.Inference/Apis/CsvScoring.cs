using System.Globalization;
using System.Text;
using System.Text.Json;
using CsvHelper;
using CsvHelper.Configuration;
using ModelPlatform.Contracts;
using ModelPlatform.Inference.Serving;
using ModelPlatform.ML;

namespace ModelPlatform.Inference.Apis;

/// <summary>
/// Bulk scoring of a CSV file with constant memory: the upload is buffered to a temporary file (past 1 MiB) and read
/// twice, first to check every row, so a bad row anywhere is a 400 naming its line and nothing is half answered;
/// then in chunks of <see cref="ChunkRows"/>, each scored and flushed to the client before the next is read.
/// </summary>
internal static class CsvScoring
{
    public const string JsonLinesContentType = "application/x-ndjson";
    private const int ChunkRows = 1000;
    private const int MaxReportedErrors = 20;
    private static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    public static bool IsCsv(HttpRequest request) =>
        request.ContentType?.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase) == true;

    public static async Task<IResult> ScoreAsync(HttpContext context, ServingTarget target, Scoring scoring, long maxBytes, CancellationToken cancellationToken)
    {
        context.Request.EnableBuffering(bufferThreshold: 1 << 20, bufferLimit: maxBytes);
        var signature = target.Version.Signature;
        var errors = await CheckAsync(context.Request.Body, signature.Inputs, cancellationToken);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors,
                title: $"The CSV does not match the signature of {target.Version.ModelName} v{target.Version.Version}; nothing was scored.");
        }

        context.Request.Body.Position = 0;
        var jsonLines = context.Request.GetTypedHeaders().Accept.Any(accept => accept.MediaType.Equals(JsonLinesContentType, StringComparison.OrdinalIgnoreCase));
        context.Response.ContentType = jsonLines ? JsonLinesContentType : "text/csv; charset=utf-8";
        await using var output = new StreamWriter(context.Response.Body, Utf8, bufferSize: 64 * 1024);
        await using var csvOutput = jsonLines ? null : new CsvWriter(output, CultureInfo.InvariantCulture, leaveOpen: true);
        if (csvOutput is not null)
        {
            WriteHeader(csvOutput, signature);
        }

        using var rows = new CsvRows(context.Request.Body, signature.Inputs);
        await rows.ReadHeaderAsync();
        var chunk = new List<ModelRecord>(ChunkRows);
        while ((await rows.ReadAsync()).More)
        {
            chunk.Add(rows.Current!);
            if (chunk.Count == ChunkRows)
            {
                await AnswerAsync(chunk);
                // A new list, not a cleared one: a shadow copy may still hold the last.
                chunk = new List<ModelRecord>(ChunkRows);
            }
        }

        if (chunk.Count > 0)
        {
            await AnswerAsync(chunk);
        }

        return Results.Empty;

        async Task AnswerAsync(List<ModelRecord> records)
        {
            foreach (var prediction in await scoring.PredictAsync(target, records, "csv"))
            {
                if (csvOutput is not null)
                {
                    WriteRow(csvOutput, signature, prediction);
                }
                else
                {
                    await output.WriteAsync(JsonSerializer.Serialize(prediction, JsonSerializerOptions.Web));
                    await output.WriteAsync('\n');
                }
            }

            if (csvOutput is not null)
            {
                await csvOutput.FlushAsync();
            }

            await output.FlushAsync(cancellationToken);
        }
    }

    /// <summary>Reads the whole file once, collecting up to <see cref="MaxReportedErrors"/> problems keyed by line and column.</summary>
    private static async Task<Dictionary<string, string[]>> CheckAsync(Stream body, IReadOnlyList<ColumnSchema> inputs, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        using var rows = new CsvRows(body, inputs);
        foreach (var (key, error) in await rows.ReadHeaderAsync())
        {
            errors[key] = [error];
        }

        if (errors.Count > 0)
        {
            return errors;
        }

        var count = 0;
        while (errors.Count < MaxReportedErrors)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (more, rowErrors) = await rows.ReadAsync();
            if (!more)
            {
                break;
            }

            count++;
            foreach (var (key, error) in rowErrors)
            {
                errors[key] = [error];
            }
        }

        if (count == 0 && errors.Count == 0)
        {
            errors["body"] = ["has a header but no rows to score"];
        }

        return errors;
    }

    private static void WriteHeader(CsvWriter csv, ModelSignature signature)
    {
        switch (signature.Task)
        {
            case MLTask.Binary:
                csv.WriteField("label");
                csv.WriteField("probability");
                break;
            case MLTask.Multiclass:
                csv.WriteField("label");
                foreach (var label in signature.Classes!)
                {
                    csv.WriteField("score_" + label);
                }

                break;
            default:
                csv.WriteField("value");
                break;
        }

        csv.NextRecord();
    }

    private static void WriteRow(CsvWriter csv, ModelSignature signature, Prediction prediction)
    {
        switch (signature.Task)
        {
            case MLTask.Binary:
                csv.WriteField(LabelText(prediction.Label));
                csv.WriteField(prediction.Probability!.Value.ToString("R", CultureInfo.InvariantCulture));
                break;
            case MLTask.Multiclass:
                csv.WriteField(LabelText(prediction.Label));
                foreach (var label in signature.Classes!)
                {
                    csv.WriteField(prediction.Scores!.GetValueOrDefault(label).ToString("R", CultureInfo.InvariantCulture));
                }

                break;
            default:
                csv.WriteField(prediction.Value!.Value.ToString("R", CultureInfo.InvariantCulture));
                break;
        }

        csv.NextRecord();
    }

    private static string LabelText(object? label) => label switch
    {
        JsonElement element => ColumnValues.CanonicalText(element) ?? "",
        bool flag => flag ? "true" : "false",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => label?.ToString() ?? "",
    };

    /// <summary>Rows of a CSV file as model records, matched to the model's inputs by the header's column names.</summary>
    private sealed class CsvRows(Stream body, IReadOnlyList<ColumnSchema> inputs) : IDisposable
    {
        private readonly StreamReader _reader = new(body, Utf8, detectEncodingFromByteOrderMarks: true, leaveOpen: true);
        private CsvParser? _parser;
        private int[] _columns = [];
        private int _fields;

        public ModelRecord? Current { get; private set; }

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

        /// <summary>Reads the next row into <see cref="Current"/>; returns false at the end, with the row's problems keyed by line and column.</summary>
        public async Task<(bool More, List<(string Key, string Error)> Errors)> ReadAsync()
        {
            if (!await _parser!.ReadAsync())
            {
                Current = null;
                return (false, []);
            }

            var line = _parser.RawRow;
            var errors = new List<(string, string)>();
            var record = ModelRecord.Empty(inputs.Count);
            if (_parser.Count != _fields)
            {
                errors.Add(($"line {line}", $"has {_parser.Count} fields; the header has {_fields}"));
            }
            else
            {
                for (var c = 0; c < inputs.Count; c++)
                {
                    if (RecordReader.ReadCell(inputs[c], _parser[_columns[c]], record, c) is { } error)
                    {
                        errors.Add(($"line {line}.{inputs[c].Name}", error));
                    }
                }
            }

            Current = record;
            return (true, errors);
        }

        public void Dispose()
        {
            _parser?.Dispose();
            _reader.Dispose();
        }
    }
}
