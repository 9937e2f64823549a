using System.Text.Json.Serialization;

namespace ModelPlatform.Inference.Protocols;

/// <summary>An Open Inference Protocol inference response: the version that answered and one tensor per output.</summary>
public sealed record InferenceResponse(
    [property: JsonPropertyName("model_name")] string ModelName,
    [property: JsonPropertyName("model_version")] string ModelVersion,
    string? Id,
    IReadOnlyList<ResponseOutput> Outputs);
