using System.Text.Json;

namespace ModelPlatform.Inference.Protocols;

/// <summary>The friendly API's JSON request: records mapping column names to values (read straight from the parsed body).</summary>
public sealed record PredictRequest(IReadOnlyList<JsonElement>? Records)
{
    /// <summary>Parses a JSON body in place (no copy per record).</summary>
    /// <exception cref="JsonException">The body is not JSON in UTF-8.</exception>
    public static JsonDocument Parse(ReadOnlyMemory<byte> body)
    {
        RefuseInvalidUtf8(body.Span);
        return JsonDocument.Parse(body);
    }

    /// <summary>
    /// JSON is UTF-8, but the parser checks a string's bytes only when something reads the string; a body with bytes no
    /// UTF-8 text has is refused as a whole, before anything reads it (the check is vectorized: free next to the parse).
    /// </summary>
    /// <exception cref="JsonException">The body holds bytes that are not UTF-8.</exception>
    public static void RefuseInvalidUtf8(ReadOnlySpan<byte> body)
    {
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            throw new JsonException("The body is not UTF-8 text: it holds bytes that UTF-8 never has.");
        }
    }

    /// <summary>The records of a parsed body, or what is wrong with it: any JSON at all may arrive here.</summary>
    public static (IReadOnlyList<JsonElement>? Records, Dictionary<string, string[]>? Problem) ReadRecords(JsonElement body, int maxRecords)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("records", out var records)
            || records.ValueKind != JsonValueKind.Array || records.GetArrayLength() == 0)
        {
            return (null, new() { ["records"] = ["is required: a non-empty array of objects mapping column names to values"] });
        }

        if (records.GetArrayLength() > maxRecords)
        {
            return (null, new() { ["records"] = [$"has {records.GetArrayLength()} records; at most {maxRecords} are allowed per request"] });
        }

        return ([.. records.EnumerateArray()], null);
    }
}
