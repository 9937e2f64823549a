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
        document = null;
        PredictRequest.RefuseInvalidText(body.Span);
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
        var fields = new RequestFields();
        return TryReadObject(root, RequestProperties, ref fields, static (int property, JsonElement value, ref RequestFields fields) => property switch
            {
                0 => TryReadString(value, out fields.Id),
                1 => TryReadParameters(value, out fields.Parameters),
                2 => TryReadList(value, TryReadInput, out fields.Inputs),
                _ => TryReadList(value, TryReadOutput, out fields.Outputs),
            })
            ? new InferenceRequest(fields.Id, fields.Parameters, fields.Inputs, fields.Outputs)
            : null;
    }

    private static bool TryReadInput(JsonElement element, out RequestInput? input)
    {
        var fields = new InputFields();
        input = TryReadObject(element, InputProperties, ref fields, static (int property, JsonElement value, ref InputFields fields) => property switch
            {
                0 => TryReadString(value, out fields.Name),
                1 => TryReadShape(value, out fields.Shape),
                2 => TryReadDatatype(value, out fields.Datatype),
                3 => Take(value, out fields.Data),
                _ => TryReadParameters(value, out fields.Parameters),
            })
            ? new RequestInput(fields.Name, fields.Shape, fields.Datatype, fields.Data, fields.Parameters)
            : null;
        return input is not null;
    }

    private static bool TryReadOutput(JsonElement element, out RequestOutput? output)
    {
        var fields = new OutputFields();
        output = TryReadObject(element, OutputProperties, ref fields, static (int property, JsonElement value, ref OutputFields fields) => property switch
            {
                0 => TryReadString(value, out fields.Name),
                _ => TryReadParameters(value, out fields.Parameters),
            })
            ? new RequestOutput(fields.Name, fields.Parameters)
            : null;
        return output is not null;
    }

    /// <summary>
    /// Reads each property of an object that <paramref name="names"/> knows with <paramref name="read"/>, given its index
    /// there, skipping those the serializer ignores; false when only the serializer can read the object.
    /// </summary>
    private static bool TryReadObject<TFields>(JsonElement element, PropertyNames names, ref TFields fields, PropertyReader<TFields> read)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        var seen = 0;
        foreach (var property in element.EnumerateObject())
        {
            var known = Match(property, names, ref seen);
            if (known == -1 || (known != int.MaxValue && !read(known, property.Value, ref fields)))
            {
                return false;
            }
        }

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

    private delegate bool PropertyReader<TFields>(int property, JsonElement value, ref TFields fields);

    // The fields of each object as read so far (structs: reading a request allocates only what it returns).
    private struct RequestFields
    {
        public string? Id;
        public Dictionary<string, JsonElement>? Parameters;
        public List<RequestInput>? Inputs;
        public List<RequestOutput>? Outputs;
    }

    private struct InputFields
    {
        public string? Name;
        public long[]? Shape;
        public string? Datatype;
        public JsonElement Data;
        public Dictionary<string, JsonElement>? Parameters;
    }

    private struct OutputFields
    {
        public string? Name;
        public Dictionary<string, JsonElement>? Parameters;
    }

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
