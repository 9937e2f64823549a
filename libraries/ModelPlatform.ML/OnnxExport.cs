using Microsoft.ML;
using Microsoft.ML.Data;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>A version's ONNX export: the graph and how to feed it, or why the pipeline has none.</summary>
public sealed record OnnxExportResult(byte[]? Graph, OnnxBinding? Binding, string? Reason)
{
    public static OnnxExportResult Refused(string reason) => new(null, null, reason);
}

/// <summary>
/// Exports a trained ML.NET pipeline to ONNX (ML.NET's converter), so a team can serve the version in Triton or KServe. An
/// export is kept only when ONNX Runtime, fed the user's columns by name, gives the ML.NET model's answers on the hold-out
/// rows to within <see cref="Tolerance"/>; otherwise, like a pipeline the converter cannot take, the version says why.
/// </summary>
public static class OnnxExport
{
    /// <summary>
    /// The most any probability, class score or value may differ between the two runtimes: absolutely, or for a value larger
    /// than 1, relative to it (a float holds 7 digits: a price of 500 summed from 100 trees in another order moves by 2e-4).
    /// </summary>
    public const double Tolerance = 1e-5;

    /// <summary>Hold-out rows compared: enough to cover the data's kinds of rows, few enough to cost well under a second.</summary>
    public const int ComparedRows = 1000;

    public static OnnxExportResult Export(
        MLContext ml, IReadOnlyList<(ITransformer Model, double Weight)> model, ModelSignature signature, byte[] artifact, IDataView holdOut)
    {
        if (model.Count > 1)
        {
            return OnnxExportResult.Refused(
                $"The version is an ensemble of {model.Count} pipelines; ML.NET's converter exports one pipeline, not their weighted average.");
        }

        // The converter makes an input of every column of the view it is given (the label too, even dropped by a transform), so it
        // is given a view of the user's columns alone, over the rows it is then checked on: each becomes an input [rows, 1].
        var records = Records(holdOut, signature.Inputs, ComparedRows);
        var inputs = TabularDataView.Of(signature.Inputs, records);
        byte[] graph;
        try
        {
            using var stream = new MemoryStream();
            ml.Model.ConvertToOnnx(model[0].Model, inputs, stream);
            graph = stream.ToArray();
        }
        catch (Exception ex) when (ex is not (OutOfMemoryException or OperationCanceledException))
        {
            var text = signature.Inputs.Where(input => input.Type == ColumnType.Text).Select(input => $"'{input.Name}'").ToList();
            return OnnxExportResult.Refused(text.Count > 0
                ? $"ML.NET's ONNX converter cannot export the featurization of free text (column {string.Join(", ", text)}): {ex.Message}"
                : $"ML.NET's ONNX converter cannot export this pipeline: {ex.Message}");
        }

        var binding = new OnnxBinding(
            [.. signature.Inputs.Select(input => new OnnxInputBinding(input.Name, [input.Name]))],
            signature.Task == MLTask.Binary ? "Probability.output" : "Score.output");
        try
        {
            using var exported = OnnxPredictor.FromGraph(new MemoryStream(graph), signature, binding);
            var expected = MLNetPredictor.Load(new MemoryStream(artifact), signature).Predict(records);
            var difference = LargestDifference(expected, exported.Predict(records));
            if (difference > Tolerance)
            {
                return OnnxExportResult.Refused(
                    $"The exported graph's answers differ from the ML.NET model's by up to {difference:G3} (relative above 1) on {records.Count} "
                    + $"hold-out rows, more than {Tolerance:G1}.");
            }
        }
        catch (InvalidDataException ex)
        {
            return OnnxExportResult.Refused($"ONNX Runtime cannot serve the exported graph: {ex.Message}");
        }

        return new OnnxExportResult(graph, binding, null);
    }

    /// <summary>
    /// The largest difference between two runtimes' answers to the same rows (probabilities, class scores or values), each
    /// relative to the expected answer where that is larger than 1 (see <see cref="Tolerance"/>).
    /// </summary>
    public static double LargestDifference(IReadOnlyList<Prediction> expected, IReadOnlyList<Prediction> actual) =>
        expected.Zip(actual, (a, b) => (a, b) switch
        {
            ({ Probability: { } p }, { Probability: { } q }) => Difference(p, q),
            ({ Value: { } v }, { Value: { } w }) => Difference(v, w),
            ({ Scores: { } s }, { Scores: { } t }) => s.Max(score => Difference(score.Value, t[score.Key])),
            _ => double.PositiveInfinity,
        }).DefaultIfEmpty(0).Max();

    private static double Difference(double expected, double actual) => Math.Abs(expected - actual) / Math.Max(1, Math.Abs(expected));

    /// <summary>Up to <paramref name="max"/> rows of the view as records of <paramref name="columns"/>.</summary>
    internal static List<ModelRecord> Records(IDataView view, IReadOnlyList<ColumnSchema> columns, int max)
    {
        var records = new List<ModelRecord>();
        using var cursor = view.GetRowCursor(view.Schema);
        var numbers = columns.Select(column => ColumnValues.IsNumeric(column.Type) ? cursor.GetGetter<float>(view.Schema[column.Name]) : null).ToArray();
        var texts = columns.Select(column => ColumnValues.IsNumeric(column.Type) ? null : cursor.GetGetter<ReadOnlyMemory<char>>(view.Schema[column.Name]))
            .ToArray();
        while (records.Count < max && cursor.MoveNext())
        {
            var record = ModelRecord.Empty(columns.Count);
            for (var c = 0; c < columns.Count; c++)
            {
                if (numbers[c] is { } number)
                {
                    number(ref record.Numbers[c]);
                }
                else
                {
                    ReadOnlyMemory<char> text = default;
                    texts[c]!(ref text);
                    record.Texts[c] = text.ToString();
                }
            }

            records.Add(record);
        }

        return records;
    }
}
