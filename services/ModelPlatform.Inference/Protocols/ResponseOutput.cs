namespace ModelPlatform.Inference.Protocols;

/// <summary>One output tensor of an inference response, its data flat in row-major order.</summary>
public sealed record ResponseOutput(string Name, long[] Shape, string Datatype, object Data, Dictionary<string, string>? Parameters = null);
