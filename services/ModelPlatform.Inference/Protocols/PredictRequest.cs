using System.Text.Json;

namespace ModelPlatform.Inference.Protocols;

/// <summary>The friendly API's JSON request: records mapping column names to values (read straight from the parsed body).</summary>
public sealed record PredictRequest(IReadOnlyList<JsonElement>? Records);
