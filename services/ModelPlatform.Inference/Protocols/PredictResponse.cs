using ModelPlatform.Contracts;

namespace ModelPlatform.Inference.Protocols;

/// <summary>The friendly API's JSON answer: the version that answered and one prediction per record, in order.</summary>
public sealed record PredictResponse(string Model, int Version, IReadOnlyList<Prediction> Predictions);
