namespace ModelPlatform.Inference.Protocols;

/// <summary>Every error the Open Inference Protocol returns: <c>{"error": "…"}</c>.</summary>
public sealed record InferenceError(string Error);
