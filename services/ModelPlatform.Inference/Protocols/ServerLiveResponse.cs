namespace ModelPlatform.Inference.Protocols;

/// <summary>Open Inference Protocol server liveness: <c>{"live": true}</c>.</summary>
public sealed record ServerLiveResponse(bool Live);
