namespace ModelPlatform.Inference.Protocols;

/// <summary>Open Inference Protocol server metadata.</summary>
public sealed record ServerMetadataResponse(string Name, string Version, IReadOnlyList<string> Extensions);
