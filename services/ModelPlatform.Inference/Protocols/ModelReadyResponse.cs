namespace ModelPlatform.Inference.Protocols;

/// <summary>Open Inference Protocol model readiness: whether the version a URL means is loaded and warm.</summary>
public sealed record ModelReadyResponse(string Name, string? Version, bool Ready);
