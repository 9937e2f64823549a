using System.Text;
using System.Text.Json;

namespace ModelPlatform.Inference.Protocols;

/// <summary>
/// Reads an inference request from its body with one parse and no copies: each tensor's data is an element of the
/// body's one <see cref="JsonDocument"/> (JsonSerializer would copy every tensor into a document of its own).
/// Whatever this reader does not map exactly as <see cref="JsonSerializer"/> would (a property name in another case,
/// a field of the wrong type, a property given twice) is read by JsonSerializer itself, so such a body is read, or
/// refused with the same <see cref="JsonException"/>, exactly as before.
/// </summary>
internal static class InferenceRequestReader
{
    private static readonly PropertyNames RequestProperties = new("id", "parameters", "inputs", "outputs");
    private static readonly PropertyNames InputProperties = new("name", "shape", "datatype", "data", "parameters");
    private static readonly PropertyNames OutputProperties = new("name", "parameters");

    // The protocol's datatypes, read without allocating a string for each tensor.
    private static readonly (byte[] Utf8, string Text)[] Datatypes = [.. new[]
    {
        "FP32", "FP64", "FP16", "BYTES", "BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "BF16",
    }.Select(datatype => (Encoding.UTF8.GetBytes(datatype), datatype))];

    /// <summary>
    /// The request in <paramref name="body"/>, or null when the body is JSON <c>null</c>. Its tensors' data live in
    /// <paramref name="document"/>, which the caller disposes once it is done with the request.
    /// </summary>
    /// <exception cref="JsonException">The body is not JSON, or not an inference request.</exception>
    public static InferenceRequest? Read(ReadOnlyMemory<byte> body, out JsonDocument? document)
    {
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            // The serializer's own exception names the path at fault, as the API always has.
            document = null;
            return JsonSerializer.Deserialize<InferenceRequest>(body.Span, OpenInferenceTensors.Json);
        }

        var root = document.RootElement;
        return root.ValueKind == JsonValueKind.Null
            ? null
            : TryRead(root) ?? JsonSerializer.Deserialize<InferenceRequest>(body.Span, OpenInferenceTensors.Json);
    }

    /// <summary>The request, or null when reading it takes the serializer's rules (see the class summary).</summary>
    internal static InferenceRequest? TryRead(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        string? id = null;
        Dictionary<string, JsonElement>? parameters = null;
        List<RequestInput>? inputs = null;
        List<RequestOutput>? outputs = null;
        var seen = 0;
        foreach (var property in root.EnumerateObject())
        {
            var known = Match(property, RequestProperties, ref seen);
            var ok = known switch
            {
                -1 => false,
                0 => TryReadString(property.Value, out id),
                1 => TryReadParameters(property.Value, out parameters),
                2 => TryReadList(property.Value, TryReadInput, out inputs),
                3 => TryReadList(property.Value, TryReadOutput, out outputs),
                _ => true,
            };
            if (!ok)
            {
                return null;
            }
        }

        return new InferenceRequest(id, parameters, inputs, outputs);
    }

    private static bool TryReadInput(JsonElement element, out RequestInput? input)
    {
        input = null;
        if (element.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        string? name = null, datatype = null;
        long[]? shape = null;
        JsonElement data = default;
        Dictionary<string, JsonElement>? parameters = null;
        var seen = 0;
        foreach (var property in element.EnumerateObject())
        {
            var ok = Match(property, InputProperties, ref seen) switch
            {
                -1 => false,
                0 => TryReadString(property.Value, out name),
                1 => TryReadShape(property.Value, out shape),
                2 => TryReadDatatype(property.Value, out datatype),
                3 => Take(property.Value, out data),
                4 => TryReadParameters(property.Value, out parameters),
                _ => true,
            };
            if (!ok)
            {
                return false;
            }
        }

        input = new RequestInput(name, shape, datatype, data, parameters);
        return true;
    }

    private static bool TryReadOutput(JsonElement element, out RequestOutput? output)
    {
        output = null;
        if (element.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        string? name = null;
        Dictionary<string, JsonElement>? parameters = null;
        var seen = 0;
        foreach (var property in element.EnumerateObject())
        {
            var ok = Match(property, OutputProperties, ref seen) switch
            {
                -1 => false,
                0 => TryReadString(property.Value, out name),
                1 => TryReadParameters(property.Value, out parameters),
                _ => true,
            };
            if (!ok)
            {
                return false;
            }
        }

        output = new RequestOutput(name, parameters);
        return true;
    }

    /// <summary>
    /// Which of <paramref name="names"/> the property is (its index); int.MaxValue for a property the serializer
    /// ignores; -1 when only the serializer can read it: a name matching in another case, or a name seen twice.
    /// </summary>
    private static int Match(JsonProperty property, PropertyNames names, ref int seen)
    {
        for (var i = 0; i < names.Utf8.Length; i++)
        {
            if (property.NameEquals(names.Utf8[i]))
            {
                var bit = 1 << i;
                if ((seen & bit) != 0)
                {
                    return -1;
                }

                seen |= bit;
                return i;
            }
        }

        var name = property.Name;
        return names.Text.Any(known => string.Equals(known, name, StringComparison.OrdinalIgnoreCase)) ? -1 : int.MaxValue;
    }

    private static bool TryReadDatatype(JsonElement value, out string? datatype)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            foreach (var (utf8, text) in Datatypes)
            {
                if (value.ValueEquals(utf8))
                {
                    datatype = text;
                    return true;
                }
            }
        }

        return TryReadString(value, out datatype);
    }

    private static bool TryReadString(JsonElement value, out string? text)
    {
        text = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        return value.ValueKind is JsonValueKind.String or JsonValueKind.Null;
    }

    private static bool TryReadShape(JsonElement value, out long[]? shape)
    {
        shape = null;
        if (value.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        var dimensions = new long[value.GetArrayLength()];
        var i = 0;
        foreach (var dimension in value.EnumerateArray())
        {
            if (dimension.ValueKind != JsonValueKind.Number || !dimension.TryGetInt64(out dimensions[i++]))
            {
                return false;
            }
        }

        shape = dimensions;
        return true;
    }

    private static bool Take(JsonElement value, out JsonElement data)
    {
        data = value;
        return true;
    }

    private static bool TryReadParameters(JsonElement value, out Dictionary<string, JsonElement>? parameters)
    {
        parameters = null;
        if (value.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        parameters = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in value.EnumerateObject())
        {
            if (!parameters.TryAdd(property.Name, property.Value))
            {
                return false;
            }
        }

        return true;
    }

    private delegate bool ItemReader<T>(JsonElement element, out T? item);

    /// <summary>Property names as the serializer binds them, in UTF-8 to compare without transcoding.</summary>
    private sealed class PropertyNames(params string[] names)
    {
        public string[] Text { get; } = names;

        public byte[][] Utf8 { get; } = [.. names.Select(Encoding.UTF8.GetBytes)];
    }

    private static bool TryReadList<T>(JsonElement value, ItemReader<T> readItem, out List<T>? list) where T : class
    {
        list = null;
        if (value.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        var items = new List<T>(value.GetArrayLength());
        foreach (var element in value.EnumerateArray())
        {
            if (!readItem(element, out var item))
            {
                return false;
            }

            items.Add(item!);
        }

        list = items;
        return true;
    }
}
