using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using ModelPlatform.Contracts;
using ModelPlatform.ML;

namespace ModelPlatform.Inference.Protocols;

/// <summary>
/// Maps a model's signature to the protocol's tensors: one input tensor per column, shape <c>[rows]</c> (or
/// <c>[rows, 1]</c>): BYTES for categorical and text columns, BOOL for booleans, FP32 (or any float or integer type)
/// for numbers. Outputs: <c>label</c> and <c>probability</c> (binary), <c>label</c> and <c>scores</c>
/// <c>[rows, classes]</c> (multiclass), <c>value</c> (regression).
/// </summary>
public static class OpenInferenceTensors
{
    /// <summary>The runtime a version is served on, named as KServe and Triton name theirs.</summary>
    public static string PlatformOf(ModelVersionInfo version) => version.Onnx is null ? "mlnet" : "onnxruntime_onnx";

    private static readonly HashSet<string> IntegerTypes = ["INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"];
    private static readonly HashSet<string> FloatTypes = ["FP16", "FP32", "FP64"];

    // The classes parameter of a multiclass model's scores, written once per signature rather than once per request.
    private static readonly ConditionalWeakTable<ModelSignature, Dictionary<string, string>> ClassesParameters = [];

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // A JSON API, never embedded in HTML: class names such as "[\"setosa\"]" read as written, not as \u0022.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string InputDatatype(ColumnType type) => type switch
    {
        ColumnType.Numeric => "FP32",
        ColumnType.Boolean => "BOOL",
        _ => "BYTES",
    };

    public static string LabelDatatype(ColumnType type) => type switch
    {
        ColumnType.Numeric => "FP64",
        ColumnType.Boolean => "BOOL",
        _ => "BYTES",
    };

    public static IReadOnlyList<MetadataTensor> Inputs(ModelSignature signature) =>
        [.. signature.Inputs.Select(input => new MetadataTensor(input.Name, InputDatatype(input.Type), [-1]))];

    public static IReadOnlyList<MetadataTensor> Outputs(ModelSignature signature) => signature.Task switch
    {
        MLTask.Binary => [new("label", LabelDatatype(signature.Label.Type), [-1]), new("probability", "FP32", [-1])],
        MLTask.Multiclass => [new("label", LabelDatatype(signature.Label.Type), [-1]), new("scores", "FP32", [-1, signature.Classes!.Count])],
        _ => [new("value", "FP32", [-1])],
    };

    /// <summary>
    /// Reads the request's tensors into one record per row, or returns the first problem found, naming the input.
    /// A JSON null in a tensor is a missing value (the model imputes it); NaN and infinities are refused.
    /// </summary>
    public static (List<ModelRecord>? Records, string? Error) ReadInputs(ModelSignature signature, InferenceRequest request, int maxRows)
    {
        var columns = SignatureColumns.For(signature);
        if (request.Inputs is not { Count: > 0 } inputs)
        {
            return (null, $"'inputs' is required: one tensor per model input ({columns.NameList})");
        }

        // The tensor that feeds each column, by its index in the request (-1 until one does).
        var tensorOf = new int[columns.Count];
        Array.Fill(tensorOf, -1);
        for (var i = 0; i < inputs.Count; i++)
        {
            var name = inputs[i]?.Name;
            if (string.IsNullOrEmpty(name))
            {
                return (null, $"inputs[{i}] has no 'name'");
            }

            if (!columns.TryGetIndex(name, out var c))
            {
                return (null, $"input '{name}' (inputs[{i}]) is not an input of the model; it takes {columns.NameList}");
            }

            if (tensorOf[c] >= 0)
            {
                return (null, $"input '{name}' appears more than once");
            }

            tensorOf[c] = i;
        }

        long? rows = null;
        for (var c = 0; c < columns.Count; c++)
        {
            var column = columns.Inputs[c];
            var index = tensorOf[c];
            if (index < 0)
            {
                return (null, $"input '{column.Name}' is missing: the model needs it as a {InputDatatype(column.Type)} tensor of shape [rows]");
            }

            var tensor = inputs[index];
            if (tensor.Shape is not ({ Length: 1 } or [_, 1]) || tensor.Shape[0] < 1)
            {
                return (null, $"{Where(column, index)} has shape [{string.Join(", ", tensor.Shape ?? [])}]; "
                    + "a column must have shape [rows] or [rows, 1] with at least one row");
            }

            if (rows is not null && tensor.Shape[0] != rows)
            {
                return (null, $"{Where(column, index)} has {tensor.Shape[0]} rows, but the inputs before it have {rows}; every column needs one value per row");
            }

            rows = tensor.Shape[0];
            if (rows > maxRows)
            {
                return (null, $"{Where(column, index)} has {rows} rows; at most {maxRows} are allowed per request");
            }

            if (DatatypeError(column, tensor.Datatype) is { } datatypeError)
            {
                return (null, $"{Where(column, index)} {datatypeError}");
            }
        }

        var records = new List<ModelRecord>((int)rows!.Value);
        for (var r = 0; r < rows; r++)
        {
            records.Add(ModelRecord.Empty(columns.Count));
        }

        for (var c = 0; c < columns.Count; c++)
        {
            var column = columns.Inputs[c];
            var tensor = inputs[tensorOf[c]];
            if (ReadColumn(column, tensor, records, c) is { } error)
            {
                return (null, $"{Where(column, tensorOf[c])} {error}");
            }
        }

        return (records, null);
    }

    private static string Where(ColumnSchema column, int index) => $"input '{column.Name}' (inputs[{index}])";

    private static string? DatatypeError(ColumnSchema column, string? datatype)
    {
        var fits = column.Type switch
        {
            ColumnType.Numeric => datatype is not null && (FloatTypes.Contains(datatype) || IntegerTypes.Contains(datatype)),
            ColumnType.Boolean => datatype == "BOOL",
            _ => datatype == "BYTES",
        };
        return fits
            ? null
            : $"has datatype {datatype ?? "(none)"}; this {column.Type.ToString().ToLowerInvariant()} column takes "
                + (column.Type == ColumnType.Numeric ? "FP32, FP64, FP16 or an INT/UINT type" : InputDatatype(column.Type));
    }

    /// <summary>Reads a tensor's values, flat or nested (row-major), into the records' column <paramref name="c"/>.</summary>
    private static string? ReadColumn(ColumnSchema column, RequestInput tensor, List<ModelRecord> records, int c)
    {
        if (tensor.Data.ValueKind == JsonValueKind.Undefined)
        {
            return "has no 'data'";
        }

        var reader = new ColumnReader(column, tensor.Datatype!, records, c);
        return reader.Read(tensor.Data) ?? (reader.Row == records.Count ? null : $"has {reader.Row} values; its shape says {records.Count}");
    }

    /// <summary>Walks a tensor's data in row-major order (no iterator or copy per value), reading each into the next row.</summary>
    private struct ColumnReader(ColumnSchema column, string datatype, List<ModelRecord> records, int c)
    {
        private readonly bool _integer = IntegerTypes.Contains(datatype);

        public int Row { get; private set; }

        public string? Read(JsonElement data)
        {
            if (data.ValueKind != JsonValueKind.Array)
            {
                return ReadOne(data);
            }

            foreach (var item in data.EnumerateArray())
            {
                if ((item.ValueKind == JsonValueKind.Array ? Read(item) : ReadOne(item)) is { } error)
                {
                    return error;
                }
            }

            return null;
        }

        private string? ReadOne(JsonElement value)
        {
            if (Row == records.Count)
            {
                return $"has more than the {records.Count} values its shape says";
            }

            if (ReadValue(column, datatype, _integer, value, records[Row], c) is { } error)
            {
                return $"row {Row}: {error}";
            }

            Row++;
            return null;
        }
    }

    private static string? ReadValue(ColumnSchema column, string datatype, bool integer, JsonElement value, ModelRecord record, int c)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        switch (column.Type)
        {
            case ColumnType.Numeric when value.ValueKind == JsonValueKind.Number:
                var number = value.GetDouble();
                if (integer && number != Math.Floor(number))
                {
                    return $"{value.GetRawText()} is not an integer, as {datatype} requires";
                }

                record.Numbers[c] = (float)number;
                return float.IsFinite(record.Numbers[c]) ? null : $"{value.GetRawText()} is outside the range of a 32-bit float";
            case ColumnType.Numeric when value.ValueKind == JsonValueKind.String
                && value.GetString() is "NaN" or "nan" or "Infinity" or "-Infinity" or "inf" or "-inf":
                return $"{value.GetString()} is not a value the model can take; send null for a missing value";
            case ColumnType.Numeric:
                return $"expected a number or null, got {value.ValueKind.ToString().ToLowerInvariant()} {CellValues.Truncate(value.GetRawText())}";
            case ColumnType.Boolean when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                record.Numbers[c] = value.ValueKind == JsonValueKind.True ? 1f : 0f;
                return null;
            case ColumnType.Boolean:
                return $"expected true, false or null, got {CellValues.Truncate(value.GetRawText())}";
            case ColumnType.Categorical or ColumnType.Text when value.ValueKind == JsonValueKind.String:
                record.Texts[c] = value.GetString()!;
                return null;
            default:
                return $"expected a string (BYTES) or null, got {CellValues.Truncate(value.GetRawText())}";
        }
    }

    /// <summary>The first output the request names that the model does not have, as an error; null when all exist.</summary>
    public static string? RequestedOutputsError(ModelSignature signature, IReadOnlyList<RequestOutput>? requested)
    {
        if (requested is not { Count: > 0 })
        {
            return null;
        }

        var names = Outputs(signature).Select(output => output.Name).ToList();
        return requested.FirstOrDefault(output => !names.Contains(output.Name!)) is { } unknown
            ? $"output '{unknown.Name}' is not an output of the model; it has {string.Join(", ", names)}"
            : null;
    }

    /// <summary>The answers as output tensors, all of them or those the request named (checked by <see cref="RequestedOutputsError"/>).</summary>
    public static List<ResponseOutput> WriteOutputs(ModelSignature signature, IReadOnlyList<Prediction> predictions, IReadOnlyList<RequestOutput>? requested)
    {
        var rows = predictions.Count;
        var all = new List<ResponseOutput>(2);
        var labelType = LabelDatatype(signature.Label.Type);
        switch (signature.Task)
        {
            case MLTask.Binary:
                var binaryLabels = new object?[rows];
                var probabilities = new float[rows];
                for (var r = 0; r < rows; r++)
                {
                    binaryLabels[r] = predictions[r].Label;
                    probabilities[r] = predictions[r].Probability!.Value;
                }

                all.Add(new ResponseOutput("label", [rows], labelType, binaryLabels));
                all.Add(new ResponseOutput("probability", [rows], "FP32", probabilities));
                break;
            case MLTask.Multiclass:
                var classes = signature.Classes!;
                var labels = new object?[rows];
                var scores = new float[rows * classes.Count];
                for (var r = 0; r < rows; r++)
                {
                    labels[r] = predictions[r].Label;
                    for (var k = 0; k < classes.Count; k++)
                    {
                        scores[r * classes.Count + k] = predictions[r].Scores!.GetValueOrDefault(classes[k]);
                    }
                }

                all.Add(new ResponseOutput("label", [rows], labelType, labels));
                all.Add(new ResponseOutput("scores", [rows, classes.Count], "FP32", scores, ClassesParameter(signature)));
                break;
            default:
                var values = new float[rows];
                for (var r = 0; r < rows; r++)
                {
                    values[r] = predictions[r].Value!.Value;
                }

                all.Add(new ResponseOutput("value", [rows], "FP32", values));
                break;
        }

        return requested is { Count: > 0 } ? [.. requested.Select(output => all.Single(candidate => candidate.Name == output.Name))] : all;
    }

    /// <summary>
    /// Explanations as two more outputs: <c>contributions</c>, FP64 [rows, columns] (each input column's contribution, the
    /// columns named in its <c>columns</c> parameter, with the <c>method</c> and the <c>output</c> explained), and
    /// <c>base_value</c>, FP64 [rows], from which the contributions add up to the explained output.
    /// </summary>
    public static IEnumerable<ResponseOutput> ExplanationOutputs(ModelSignature signature, IReadOnlyList<Explanation> explanations)
    {
        var columns = signature.Inputs.Select(input => input.Name).ToList();
        var contributions = new double[explanations.Count * columns.Count];
        for (var r = 0; r < explanations.Count; r++)
        {
            for (var c = 0; c < columns.Count; c++)
            {
                contributions[r * columns.Count + c] = explanations[r].Contributions[columns[c]];
            }
        }

        var parameters = new Dictionary<string, string>
        {
            ["columns"] = JsonSerializer.Serialize(columns),
            ["method"] = explanations.FirstOrDefault()?.Method ?? string.Empty,
            ["output"] = explanations.FirstOrDefault()?.Output ?? string.Empty,
        };
        yield return new ResponseOutput("contributions", [explanations.Count, columns.Count], "FP64", contributions, parameters);
        yield return new ResponseOutput("base_value", [explanations.Count], "FP64", explanations.Select(explanation => explanation.BaseValue).ToArray());
    }

    // Shared by every response of the signature and never changed after it is made.
    private static Dictionary<string, string> ClassesParameter(ModelSignature signature) =>
        ClassesParameters.GetValue(signature, static signature => new() { ["classes"] = JsonSerializer.Serialize(signature.Classes) });
}
