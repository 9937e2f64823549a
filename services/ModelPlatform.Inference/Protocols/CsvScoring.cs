using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using ModelPlatform.Contracts;
using ModelPlatform.Inference.Serving;
using ModelPlatform.ML;

namespace ModelPlatform.Inference.Protocols;

/// <summary>
/// Bulk scoring of a CSV file with constant memory: the upload is buffered to a temporary file (past 1 MiB) and read
/// twice, first to check every row, so a bad row anywhere is a 400 naming its line and nothing is half answered;
/// then in chunks of <see cref="ChunkRows"/>, each scored and flushed to the client before the next is read. A file of
/// one chunk is read once: the rows checked are the chunk scored. The answers
/// are written straight into the response as UTF-8 (<see cref="CsvOutput"/>).
/// </summary>
internal static class CsvScoring
{
    public const string JsonLinesContentType = "application/x-ndjson";
    private const int ChunkRows = 1000;
    private const int MaxReportedErrors = 20;

    public static bool IsCsv(HttpRequest request) =>
        request.ContentType?.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>Scores the file and writes the answers; returns the problems instead (and writes nothing) when a row is bad.</summary>
    public static async Task<ValidationProblem?> ScoreAsync(
        HttpContext context, ServingTarget target, Scoring scoring, long maxBytes, CancellationToken cancellationToken)
    {
        context.Request.EnableBuffering(bufferThreshold: 1 << 20, bufferLimit: maxBytes);
        var signature = target.Version.Signature;
        var (errors, wholeFile) = await CheckAsync(context.Request.Body, signature.Inputs, cancellationToken);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors,
                title: $"The CSV does not match the signature of {target.Version.ModelName} v{target.Version.Version}; nothing was scored.");
        }

        context.Request.Body.Position = 0;
        var jsonLines = context.Request.GetTypedHeaders().Accept
            .Any(accept => accept.MediaType.Equals(JsonLinesContentType, StringComparison.OrdinalIgnoreCase));
        context.Response.ContentType = jsonLines ? JsonLinesContentType : "text/csv; charset=utf-8";
        var pipe = context.Response.BodyWriter;
        var csvOutput = jsonLines ? null : new CsvOutput(pipe);
        if (csvOutput is not null)
        {
            WriteHeader(csvOutput, signature);
        }

        if (wholeFile is not null)
        {
            // The file is one chunk, read and checked already: it is scored as it is, not parsed again.
            await AnswerAsync(wholeFile);
            return null;
        }

        using var rows = new CsvRows(context.Request.Body, signature.Inputs);
        await rows.ReadHeaderAsync();
        var chunk = new List<ModelRecord>(ChunkRows);
        while (true)
        {
            // Every record is new: the chunk's records are scored together, and a shadow copy may keep them.
            var record = ModelRecord.Empty(signature.Inputs.Count);
            if (!await rows.ReadAsync(record, errors: null))
            {
                break;
            }

            chunk.Add(record);
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

        return null;

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
                    Encoding.UTF8.GetBytes(JsonSerializer.Serialize(prediction, JsonSerializerOptions.Web), pipe);
                    pipe.GetSpan(1)[0] = (byte)'\n';
                    pipe.Advance(1);
                }
            }

            await pipe.FlushAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Reads the whole file once, collecting up to <see cref="MaxReportedErrors"/> problems keyed by line and column.
    /// A file of at most one chunk (<see cref="ChunkRows"/> rows) comes back read as well, ready to score: it costs no
    /// more memory than the chunk the scoring pass would hold. A longer file is only checked, one row at a time.
    /// </summary>
    private static async Task<(Dictionary<string, string[]> Errors, List<ModelRecord>? WholeFile)> CheckAsync(
        Stream body, IReadOnlyList<ColumnSchema> inputs, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        using var rows = new CsvRows(body, inputs);
        foreach (var (key, error) in await rows.ReadHeaderAsync())
        {
            errors[key] = [error];
        }

        if (errors.Count > 0)
        {
            return (errors, null);
        }

        List<ModelRecord>? wholeFile = new(ChunkRows);
        // Past the first chunk, rows are checked, not kept: one record takes every row in turn.
        ModelRecord? scratch = null;
        var count = 0;
        while (errors.Count < MaxReportedErrors)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var record = wholeFile is not null ? ModelRecord.Empty(inputs.Count) : scratch ??= ModelRecord.Empty(inputs.Count);
            if (!await rows.ReadAsync(record, errors))
            {
                break;
            }

            count++;
            if (wholeFile is { Count: < ChunkRows })
            {
                wholeFile.Add(record);
            }
            else
            {
                wholeFile = null;
            }
        }

        if (count == 0 && errors.Count == 0)
        {
            errors["body"] = ["has a header but no rows to score"];
        }

        return (errors, wholeFile);
    }

    private static void WriteHeader(CsvOutput csv, ModelSignature signature)
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

        csv.EndRow();
    }

    private static void WriteRow(CsvOutput csv, ModelSignature signature, Prediction prediction)
    {
        switch (signature.Task)
        {
            case MLTask.Binary:
                csv.WriteField(ColumnValues.LabelText(prediction.Label));
                csv.WriteField(prediction.Probability!.Value);
                break;
            case MLTask.Multiclass:
                csv.WriteField(ColumnValues.LabelText(prediction.Label));
                foreach (var label in signature.Classes!)
                {
                    csv.WriteField(prediction.Scores!.GetValueOrDefault(label));
                }

                break;
            default:
                csv.WriteField(prediction.Value!.Value);
                break;
        }

        csv.EndRow();
    }
}
