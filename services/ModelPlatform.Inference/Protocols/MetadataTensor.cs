namespace ModelPlatform.Inference.Protocols;

/// <summary>An input or output tensor as model metadata describes it (-1: any number of rows).</summary>
public sealed record MetadataTensor(string Name, string Datatype, long[] Shape);
