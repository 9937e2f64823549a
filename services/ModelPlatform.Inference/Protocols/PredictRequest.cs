using System.Globalization;
using System.Text.Json;

namespace ModelPlatform.Inference.Protocols;

/// <summary>The friendly API's JSON request: records mapping column names to values (read straight from the parsed body).</summary>
public sealed record PredictRequest(IReadOnlyList<JsonElement>? Records)
{
    /// <summary>Parses a JSON body in place (no copy per record).</summary>
    /// <exception cref="JsonException">The body is not JSON in UTF-8 (<see cref="RefuseInvalidText"/>).</exception>
    public static JsonDocument Parse(ReadOnlyMemory<byte> body)
    {
        RefuseInvalidText(body.Span);
        return JsonDocument.Parse(body);
    }

    /// <summary>
    /// JSON is UTF-8, but the parser checks a string's bytes only when something reads the string; a body with bytes no
    /// UTF-8 text has is refused as a whole, before anything reads it (the check is vectorized: free next to the parse).
    /// So is an escape that spells half a character (<c>\ud800</c> alone): valid JSON, but no text, and reading it throws.
    /// </summary>
    /// <exception cref="JsonException">The body holds bytes that are not UTF-8, or an unpaired surrogate.</exception>
    public static void RefuseInvalidText(ReadOnlySpan<byte> body)
    {
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            throw new JsonException("The body is not UTF-8 text: it holds bytes that UTF-8 never has.");
        }

        // Backslashes only start escapes (in strings; elsewhere the parser refuses them), so each is one escape, read in order.
        var at = 0;
        while (body[at..].IndexOf((byte)'\\') is var found and >= 0)
        {
            at += found;
            if (UnicodeEscape(body, at) is not { } unit)
            {
                at = Math.Min(at + 2, body.Length);
                continue;
            }

            var pairedWith = char.IsHighSurrogate(unit) ? UnicodeEscape(body, at + 6) : null;
            if (char.IsLowSurrogate(unit) || (char.IsHighSurrogate(unit) && !(pairedWith is { } low && char.IsLowSurrogate(low))))
            {
                throw new JsonException($"The body holds \\u{(int)unit:x4} without its other half, at byte {at}: half a character is not text.");
            }

            at += char.IsHighSurrogate(unit) ? 12 : 6;
        }
    }

    /// <summary>The UTF-16 code unit of the <c>\uXXXX</c> escape at <paramref name="at"/>, or null when there is none.</summary>
    private static char? UnicodeEscape(ReadOnlySpan<byte> body, int at) =>
        at + 6 <= body.Length && body[at] == '\\' && body[at + 1] == 'u'
            && ushort.TryParse(body.Slice(at + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var unit)
            ? (char)unit
            : null;

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
