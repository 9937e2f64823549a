using System.Text.Json;
using System.Text.Json.Serialization;
using ModelPlatform.Contracts;
using ModelPlatform.ML;

namespace ModelPlatform.Inference.Apis;

// The Open Inference Protocol (v2) REST messages, as docs/specs/open-inference-protocol-rest.yaml defines them.

public sealed record InferenceRequest(
    string? Id,
    Dictionary<string, JsonElement>? Parameters,
    IReadOnlyList<RequestInput>? Inputs,
    IReadOnlyList<RequestOutput>? Outputs);

public sealed record RequestInput(string? Name, long[]? Shape, string? Datatype, JsonElement Data, Dictionary<string, JsonElement>? Parameters);

public sealed record RequestOutput(string? Name, Dictionary<string, JsonElement>? Parameters);

public sealed record InferenceResponse(
    [property: JsonPropertyName("model_name")] string ModelName,
    [property: JsonPropertyName("model_version")] string ModelVersion,
    string? Id,
    IReadOnlyList<ResponseOutput> Outputs);

public sealed record ResponseOutput(string Name, long[] Shape, string Datatype, object Data, Dictionary<string, string>? Parameters = null);

public sealed record MetadataTensor(string Name, string Datatype, long[] Shape);

public sealed record ModelMetadataResponse(
    string Name,
    IReadOnlyList<string> Versions,
    string Platform,
    IReadOnlyList<MetadataTensor> Inputs,
    IReadOnlyList<MetadataTensor> Outputs,
    IReadOnlyDictionary<string, string> Properties);

public sealed record ServerMetadataResponse(string Name, string Version, IReadOnlyList<string> Extensions);

public sealed record ModelReadyResponse(string Name, string? Version, bool Ready);

/// <summary>Every error the protocol returns: <c>{"error": "…"}</c>.</summary>
public sealed record InferenceError(string Error);

/// <summary>
/// Maps a model's signature to the protocol's tensors: one input tensor per column, shape <c>[rows]</c> (or
/// <c>[rows, 1]</c>): BYTES for categorical and text columns, BOOL for booleans, FP32 (or any float or integer type)
/// for numbers. Outputs: <c>label</c> and <c>probability</c> (binary), <c>label</c> and <c>scores</c>
/// <c>[rows, classes]</c> (multiclass), <c>value</c> (regression).
/// </summary>
public static class OpenInferenceTensors
{
    public const string Platform = "mlnet";
    private static readonly HashSet<string> IntegerTypes = ["INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"];
    private static readonly HashSet<string> FloatTypes = ["FP16", "FP32", "FP64"];

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
        if (request.Inputs is not { Count: > 0 } inputs)
        {
            return (null, $"'inputs' is required: one tensor per model input ({string.Join(", ", signature.Inputs.Select(input => input.Name))})");
        }

        var byName = new Dictionary<string, (RequestInput Tensor, int Index)>(StringComparer.Ordinal);
        for (var i = 0; i < inputs.Count; i++)
        {
            var name = inputs[i].Name;
            if (string.IsNullOrEmpty(name))
            {
                return (null, $"inputs[{i}] has no 'name'");
            }

            if (signature.Inputs.All(input => input.Name != name))
            {
                return (null, $"input '{name}' (inputs[{i}]) is not an input of the model; it takes {string.Join(", ", signature.Inputs.Select(input => input.Name))}");
            }

            if (!byName.TryAdd(name, (inputs[i], i)))
            {
                return (null, $"input '{name}' appears more than once");
            }
        }

        long? rows = null;
        foreach (var column in signature.Inputs)
        {
            if (!byName.TryGetValue(column.Name, out var found))
            {
                return (null, $"input '{column.Name}' is missing: the model needs it as a {InputDatatype(column.Type)} tensor of shape [rows]");
            }

            var (tensor, index) = found;
            var where = $"input '{column.Name}' (inputs[{index}])";
            if (tensor.Shape is not ({ Length: 1 } or [_, 1]) || tensor.Shape[0] < 1)
            {
                return (null, $"{where} has shape [{string.Join(", ", tensor.Shape ?? [])}]; a column must have shape [rows] or [rows, 1] with at least one row");
            }

            if (rows is not null && tensor.Shape[0] != rows)
            {
                return (null, $"{where} has {tensor.Shape[0]} rows, but the inputs before it have {rows}; every column needs one value per row");
            }

            rows = tensor.Shape[0];
            if (rows > maxRows)
            {
                return (null, $"{where} has {rows} rows; at most {maxRows} are allowed per request");
            }

            if (DatatypeError(column, tensor.Datatype) is { } datatypeError)
            {
                return (null, $"{where} {datatypeError}");
            }
        }

        var records = new List<ModelRecord>((int)rows!.Value);
        for (var r = 0; r < rows; r++)
        {
            records.Add(ModelRecord.Empty(signature.Inputs.Count));
        }

        for (var c = 0; c < signature.Inputs.Count; c++)
        {
            var column = signature.Inputs[c];
            var (tensor, index) = byName[column.Name];
            if (ReadColumn(column, tensor, records, c) is { } error)
            {
                return (null, $"input '{column.Name}' (inputs[{index}]) {error}");
            }
        }

        return (records, null);
    }

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

    private static string? ReadColumn(ColumnSchema column, RequestInput tensor, List<ModelRecord> records, int c)
    {
        if (tensor.Data.ValueKind == JsonValueKind.Undefined)
        {
            return "has no 'data'";
        }

        var row = 0;
        foreach (var value in Flatten(tensor.Data))
        {
            if (row == records.Count)
            {
                return $"has more than the {records.Count} values its shape says";
            }

            if (ReadValue(column, tensor.Datatype!, value, records[row], c) is { } error)
            {
                return $"row {row}: {error}";
            }

            row++;
        }

        return row == records.Count ? null : $"has {row} values; its shape says {records.Count}";
    }

    private static string? ReadValue(ColumnSchema column, string datatype, JsonElement value, ModelRecord record, int c)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        switch (column.Type)
        {
            case ColumnType.Numeric when value.ValueKind == JsonValueKind.Number:
                var number = value.GetDouble();
                if (IntegerTypes.Contains(datatype) && number != Math.Floor(number))
                {
                    return $"{value.GetRawText()} is not an integer, as {datatype} requires";
                }

                record.Numbers[c] = (float)number;
                return float.IsFinite(record.Numbers[c]) ? null : $"{value.GetRawText()} is outside the range of a 32-bit float";
            case ColumnType.Numeric when value.ValueKind == JsonValueKind.String && value.GetString() is "NaN" or "nan" or "Infinity" or "-Infinity" or "inf" or "-inf":
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

    /// <summary>Tensor data in row-major order, whether sent flat or nested.</summary>
    private static IEnumerable<JsonElement> Flatten(JsonElement data)
    {
        if (data.ValueKind != JsonValueKind.Array)
        {
            yield return data;
            yield break;
        }

        foreach (var item in data.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Array)
            {
                foreach (var inner in Flatten(item))
                {
                    yield return inner;
                }
            }
            else
            {
                yield return item;
            }
        }
    }

    /// <summary>The first output the request names that the model does not have, as an error; null when all exist.</summary>
    public static string? RequestedOutputsError(ModelSignature signature, IReadOnlyList<RequestOutput>? requested)
    {
        var names = Outputs(signature).Select(output => output.Name).ToList();
        return requested?.FirstOrDefault(output => !names.Contains(output.Name!)) is { } unknown
            ? $"output '{unknown.Name}' is not an output of the model; it has {string.Join(", ", names)}"
            : null;
    }

    /// <summary>The answers as output tensors, all of them or those the request named (checked by <see cref="RequestedOutputsError"/>).</summary>
    public static List<ResponseOutput> WriteOutputs(ModelSignature signature, IReadOnlyList<Prediction> predictions, IReadOnlyList<RequestOutput>? requested)
    {
        var rows = predictions.Count;
        var all = new List<ResponseOutput>();
        var labelType = LabelDatatype(signature.Label.Type);
        switch (signature.Task)
        {
            case MLTask.Binary:
                all.Add(new ResponseOutput("label", [rows], labelType, predictions.Select(prediction => prediction.Label).ToArray()));
                all.Add(new ResponseOutput("probability", [rows], "FP32", predictions.Select(prediction => prediction.Probability!.Value).ToArray()));
                break;
            case MLTask.Multiclass:
                var classes = signature.Classes!;
                all.Add(new ResponseOutput("label", [rows], labelType, predictions.Select(prediction => prediction.Label).ToArray()));
                all.Add(new ResponseOutput("scores", [rows, classes.Count], "FP32",
                    predictions.SelectMany(prediction => classes.Select(label => prediction.Scores!.GetValueOrDefault(label))).ToArray(),
                    new Dictionary<string, string> { ["classes"] = JsonSerializer.Serialize(classes) }));
                break;
            default:
                all.Add(new ResponseOutput("value", [rows], "FP32", predictions.Select(prediction => prediction.Value!.Value).ToArray()));
                break;
        }

        return requested is { Count: > 0 } ? [.. requested.Select(output => all.Single(candidate => candidate.Name == output.Name))] : all;
    }
}
