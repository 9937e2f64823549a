using System.Text.Json.Serialization;
using ModelPlatform.Contracts;
using ModelPlatform.Features.Online;

namespace ModelPlatform.Inference.Protocols;

/// <summary>The friendly API's JSON answer: the version that answered and one prediction per record, in order.</summary>
/// <param name="MissingFeatures">Served by entity key: per record, each feature that was not present, and why (the model
/// imputed it).</param>
/// <param name="Features">Served by entity key with <c>?include=features</c>: every value read, with its status.</param>
/// <param name="Explanations">With <c>?explain=true</c>: per record, each input column's contribution to its prediction.</param>
public sealed record PredictResponse(
    string Model,
    int Version,
    IReadOnlyList<Prediction> Predictions,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<IReadOnlyDictionary<string, FeatureStatus>>? MissingFeatures = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] OnlineFeatureTable? Features = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<Explanation>? Explanations = null);
