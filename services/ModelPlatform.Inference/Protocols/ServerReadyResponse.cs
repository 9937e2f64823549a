namespace ModelPlatform.Inference.Protocols;

/// <summary>Open Inference Protocol server readiness: <c>{"ready": true|false}</c>.</summary>
public sealed record ServerReadyResponse(bool Ready);
