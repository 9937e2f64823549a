using System.Text.Json;

namespace ModelPlatform.Inference.Protocols;

/// <summary>An output an inference request asks for by name (all of them when it names none).</summary>
public sealed record RequestOutput(string? Name, Dictionary<string, JsonElement>? Parameters);
