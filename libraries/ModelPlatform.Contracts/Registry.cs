using System.Text.Json;
using System.Text.Json.Serialization;

namespace ModelPlatform.Contracts;

/// <summary>Where a model version came from.</summary>
/// <param name="TrainingSet">For a model trained from a feature service: what its training set was joined from, which
/// features it reads and by which keys.</param>
public sealed record ModelLineage(
    string Dataset,
    int DatasetVersion,
    Guid? TrainingJobId,
    string? Trainer,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TrainingSetLineage? TrainingSet = null);

/// <summary>What a trainer (or a user bringing a model) sends with the artifact when it registers a version.</summary>
/// <param name="Signature">Required for an ML.NET model; an ONNX model's is read from its graph (see <paramref name="Onnx"/>).</param>
/// <param name="Importance">How much the version leans on each input column, when the trainer measured it.</param>
/// <param name="Format"><see cref="ModelFormats.MLNet"/> (the default) or <see cref="ModelFormats.Onnx"/>.</param>
/// <param name="Onnx">For an ONNX model: what its graph cannot say (column and class names, the task, which output answers).</param>
/// <param name="Reference">The typical row that explanations measure from: a value for every input column (the training mean, the
/// most frequent category, empty text). A trainer sends it; bring one with an ONNX model to have its predictions explained.</param>
public sealed record RegisterModelVersionRequest(
    ModelSignature Signature,
    IReadOnlyDictionary<string, double> Metrics,
    ModelLineage Lineage,
    FeatureImportance? Importance = null,
    string? Format = null,
    OnnxRegistration? Onnx = null,
    OnnxExportInfo? OnnxExport = null,
    IReadOnlyDictionary<string, JsonElement>? Reference = null);

/// <summary>
/// A trained version's ONNX export (an extra artifact, for Triton or KServe): how to feed it, its checksum and size; or,
/// when the pipeline could not be exported or the export did not answer as the model does, <paramref name="Reason"/>.
/// </summary>
public sealed record OnnxExportInfo(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] OnnxBinding? Binding = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Sha256 = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? SizeBytes = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason = null);

/// <summary>The artifact formats a version may have.</summary>
public static class ModelFormats
{
    /// <summary>An ML.NET model zip, or an ensemble's (trained here).</summary>
    public const string MLNet = "mlnet";

    /// <summary>An ONNX graph (trained anywhere: PyTorch, scikit-learn through skl2onnx, XGBoost), served on ONNX Runtime.</summary>
    public const string Onnx = "onnx";
}

/// <summary>
/// What an ONNX graph cannot say about itself, all optional: the registry reads the inputs, outputs and shapes from the graph
/// and takes these names and choices where it would otherwise number or guess.
/// </summary>
/// <param name="Columns">Names for the columns of an input tensor of shape [rows, n]: tensor name to n column names
/// (default <c>{tensor}_0</c> to <c>{tensor}_{n-1}</c>; a [rows] or [rows, 1] tensor is one column named as the tensor).</param>
/// <param name="Text">String columns that hold free text rather than categories (for statistics and drift).</param>
/// <param name="Output">The output tensor that answers (default: the class probabilities, else the first float output).</param>
/// <param name="Task">binary, multiclass or regression (default: regression for one value per row, else by the class count).</param>
/// <param name="Classes">The classes in the order of the output's columns (default <c>0</c> to <c>n-1</c>).</param>
/// <param name="Label">The name of what the model predicts (default <c>label</c>).</param>
public sealed record OnnxRegistration(
    IReadOnlyDictionary<string, IReadOnlyList<string>>? Columns = null,
    IReadOnlyList<string>? Text = null,
    string? Output = null,
    MLTask? Task = null,
    IReadOnlyList<string>? Classes = null,
    string? Label = null);

/// <summary>How an ONNX version's graph is fed and read: which input tensor takes which columns, and the output that answers.</summary>
public sealed record OnnxBinding(IReadOnlyList<OnnxInputBinding> Inputs, string Output);

/// <summary>An input tensor and the signature's columns it takes, in order (one for a [rows] or [rows, 1] tensor).</summary>
public sealed record OnnxInputBinding(string Tensor, IReadOnlyList<string> Columns);

/// <summary>
/// How much a version leans on each input column: the loss of <paramref name="Metric"/> on <paramref name="Rows"/> hold-out
/// rows when that column's values are shuffled among them (permutation importance), the mean and standard deviation over
/// <paramref name="Permutations"/> shuffles, most important first. About zero: the model does without the column; below
/// zero: shuffling it helped, so what the model learnt from it is noise.
/// </summary>
public sealed record FeatureImportance(string Metric, int Rows, int Permutations, IReadOnlyList<ColumnImportance> Columns)
{
    public string Method => "permutation";
}

/// <param name="Mean">The metric's mean loss over the shuffles, in the metric's own units.</param>
public sealed record ColumnImportance(string Column, double Mean, double StdDev);

/// <summary>One immutable model version as the registry describes it.</summary>
public sealed record ModelVersionInfo(
    string ModelName,
    int Version,
    string Sha256,
    long SizeBytes,
    ModelSignature Signature,
    IReadOnlyDictionary<string, double> Metrics,
    ModelLineage Lineage,
    IReadOnlyList<string> Aliases,
    DateTimeOffset CreatedAt,
    FeatureImportance? Importance = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] OnnxBinding? Onnx = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] OnnxExportInfo? OnnxExport = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, JsonElement>? Reference = null)
{
    /// <summary><see cref="ModelFormats.Onnx"/> when the artifact is an ONNX graph, else <see cref="ModelFormats.MLNet"/>.</summary>
    public string Format => Onnx is null ? ModelFormats.MLNet : ModelFormats.Onnx;
}

public sealed record ModelInfo(
    string Name,
    int LatestVersion,
    IReadOnlyDictionary<string, int> Aliases,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>A model and every one of its versions.</summary>
public sealed record ModelDetails(ModelInfo Model, IReadOnlyList<ModelVersionInfo> Versions);

/// <summary>
/// Where an alias is to point: promotion and rollback alike, with a canary share and a shadow if wanted. The shadow is
/// another version, or, beside a canary, <paramref name="Version"/> itself: the main version then scores a copy of each
/// request the canary answers, so the canary's agreement with it is measured.
/// </summary>
public sealed record SetAliasRequest(int Version, CanaryRoute? Canary = null, int? Shadow = null)
{
    /// <summary>What is wrong with the route, by field (<c>canary.percent</c>, <c>canary.version</c>, <c>shadow</c>); empty when it is sound.</summary>
    public Dictionary<string, string[]> Errors()
    {
        var errors = new Dictionary<string, string[]>();
        if (Canary is { } canary)
        {
            if (canary.Percent is < 1 or > 99)
            {
                errors["canary.percent"] = [$"must be from 1 to 99 (the share of traffic the canary gets), got {canary.Percent}"];
            }

            if (canary.Version == Version)
            {
                errors["canary.version"] = ["must differ from version"];
            }
        }

        if (Shadow is { } shadow && shadow == Canary?.Version)
        {
            errors["shadow"] = ["must differ from canary.version: a shadow gets a copy of traffic it does not answer"];
        }
        else if (Shadow == Version && Canary is null)
        {
            errors["shadow"] = ["may equal version only beside a canary (it then scores a copy of the canary's requests); "
                + "without one, version answers every request and has none to shadow"];
        }

        return errors;
    }
}

/// <summary>Sends <paramref name="Percent"/>% of an alias's traffic to <paramref name="Version"/> instead of the alias's main version.</summary>
public sealed record CanaryRoute(int Version, int Percent);

/// <summary>
/// Where an alias sends traffic: to <paramref name="Version"/>, except the <paramref name="Canary"/>'s share; the
/// <paramref name="Shadow"/> version scores a copy of every request it does not answer itself, and its answers are only
/// recorded. A shadow equal to <paramref name="Version"/> (beside a canary) thus scores a copy of each canary request.
/// </summary>
public sealed record AliasRoute(int Version, CanaryRoute? Canary = null, int? Shadow = null)
{
    /// <summary>Every version the route needs loaded, each once (a main version shadowing its canary is one version).</summary>
    public IEnumerable<int> Versions()
    {
        yield return Version;
        if (Canary is not null)
        {
            yield return Canary.Version;
        }

        if (Shadow is { } shadow && shadow != Version && shadow != Canary?.Version)
        {
            yield return shadow;
        }
    }
}

/// <summary>An alias and where it sends traffic; <paramref name="PreviousVersion"/> is set when it has just moved.</summary>
/// <param name="Sequence">How many times the alias has moved: each move's event carries it, so a replica that hears of
/// moves out of order ignores the older one.</param>
public sealed record AliasInfo(
    string ModelName, string Alias, int Version, int? PreviousVersion, CanaryRoute? Canary = null, int? Shadow = null, long Sequence = 0)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public AliasRoute Route => new(Version, Canary, Shadow);
}
