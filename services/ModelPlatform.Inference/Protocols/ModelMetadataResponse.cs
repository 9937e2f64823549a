namespace ModelPlatform.Inference.Protocols;

/// <summary>Open Inference Protocol model metadata: the versions a URL means, and the model's tensors.</summary>
public sealed record ModelMetadataResponse(
    string Name,
    IReadOnlyList<string> Versions,
    string Platform,
    IReadOnlyList<MetadataTensor> Inputs,
    IReadOnlyList<MetadataTensor> Outputs,
    IReadOnlyDictionary<string, string> Properties);
