using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using ModelPlatform.Contracts;

namespace ModelPlatform.Inference.Protocols;

/// <summary>
/// What the protocol readers look up in a model's signature on every request, computed once per signature: each
/// input's position by name and the list of names that error messages quote.
/// </summary>
internal sealed class SignatureColumns
{
    private static readonly ConditionalWeakTable<ModelSignature, SignatureColumns> Cache = [];
    private readonly FrozenDictionary<string, int> _indexByName;

    private SignatureColumns(ModelSignature signature)
    {
        Inputs = signature.Inputs;
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var c = 0; c < Inputs.Count; c++)
        {
            byName.TryAdd(Inputs[c].Name, c);
        }

        _indexByName = byName.ToFrozenDictionary(StringComparer.Ordinal);
        NameList = string.Join(", ", Inputs.Select(input => input.Name));
    }

    public IReadOnlyList<ColumnSchema> Inputs { get; }

    public int Count => Inputs.Count;

    /// <summary>The inputs' names, comma separated, in signature order.</summary>
    public string NameList { get; }

    public static SignatureColumns For(ModelSignature signature) => Cache.GetValue(signature, static signature => new SignatureColumns(signature));

    public bool TryGetIndex(string name, out int column) => _indexByName.TryGetValue(name, out column);
}
