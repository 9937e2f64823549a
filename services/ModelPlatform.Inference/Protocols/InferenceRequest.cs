using System.Text.Json;

namespace ModelPlatform.Inference.Protocols;

/// <summary>
/// An Open Inference Protocol (v2) inference request, as docs/specs/open-inference-protocol-rest.yaml defines it.
/// Read by <see cref="InferenceRequestReader"/>: its tensors' data stay in the request's one parsed document.
/// </summary>
public sealed record InferenceRequest(
    string? Id,
    Dictionary<string, JsonElement>? Parameters,
    IReadOnlyList<RequestInput>? Inputs,
    IReadOnlyList<RequestOutput>? Outputs);
