using System.Text.Json;

namespace ModelPlatform.Inference.Protocols;

/// <summary>One input tensor of an inference request: for this service, one column of the model's inputs.</summary>
public sealed record RequestInput(string? Name, long[]? Shape, string? Datatype, JsonElement Data, Dictionary<string, JsonElement>? Parameters);
