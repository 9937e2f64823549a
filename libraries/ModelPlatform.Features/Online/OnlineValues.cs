using System.Globalization;
using System.Text;
using System.Text.Json;
using ModelPlatform.Contracts;

namespace ModelPlatform.Features.Online;

/// <summary>
/// Feature values in Redis hash fields, tagged with their type so they read back as what was written: <c>d:</c> and a double's
/// shortest round-trip text (<c>d:0.1</c>, <c>d:NaN</c>), <c>s:</c> and a string, <c>b:true</c> or <c>b:false</c>.
/// Every number is a double. A null value is no field at all.
/// </summary>
internal static class OnlineValues
{
    private const string NumberTag = "d:";
    private const string TextTag = "s:";
    private const string True = "b:true";
    private const string False = "b:false";
    private static readonly object BoxedTrue = true;
    private static readonly object BoxedFalse = false;

    /// <summary>Whether <paramref name="value"/> is null, as .NET, JSON or a data reader says it.</summary>
    public static bool IsNull(object? value) => value is null or DBNull or JsonElement { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined };

    public static string Encode(string feature, object value) => value switch
    {
        string text => TextTag + text,
        bool flag => flag ? True : False,
        double number => Number(number),
        float or int or long or short or sbyte or byte or ushort or uint or ulong or decimal =>
            Number(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
        JsonElement { ValueKind: JsonValueKind.String } json => TextTag + json.GetString(),
        JsonElement { ValueKind: JsonValueKind.Number } json => Number(json.GetDouble()),
        JsonElement { ValueKind: JsonValueKind.True } => True,
        JsonElement { ValueKind: JsonValueKind.False } => False,
        _ => throw new ArgumentException(
            $"Feature '{feature}' has a value of type {Describe(value)}; the online store keeps numbers, strings, booleans and null."),
    };

    // Read from the stored bytes: a number is parsed without first becoming a string.
    public static object Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.StartsWith("d:"u8))
        {
            return double.Parse(bytes[NumberTag.Length..], NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        return bytes.StartsWith("s:"u8) ? Encoding.UTF8.GetString(bytes[TextTag.Length..])
            : bytes.SequenceEqual("b:true"u8) ? BoxedTrue
            : bytes.SequenceEqual("b:false"u8) ? BoxedFalse
            : throw Unreadable(bytes);
    }

    /// <summary>
    /// Writes a stored value as JSON without decoding it: a number as the text it was stored as (a number JSON cannot hold,
    /// NaN or an infinity, as null), a string, or a boolean.
    /// </summary>
    public static void WriteJson(Utf8JsonWriter writer, ReadOnlySpan<byte> bytes)
    {
        if (bytes.StartsWith("d:"u8))
        {
            var number = bytes[NumberTag.Length..];
            if (number.SequenceEqual("NaN"u8) || number.SequenceEqual("Infinity"u8) || number.SequenceEqual("-Infinity"u8))
            {
                writer.WriteNullValue();
            }
            else if (number is [(byte)'-' or (>= (byte)'0' and <= (byte)'9'), ..])
            {
                // Encode stores a finite double's round-trip text, which is a JSON number; the writer checks it is one.
                try
                {
                    writer.WriteRawValue(number);
                }
                catch (Exception ex) when (ex is JsonException or ArgumentException)
                {
                    throw Unreadable(bytes);
                }
            }
            else
            {
                throw Unreadable(bytes);
            }
        }
        else if (bytes.StartsWith("s:"u8))
        {
            writer.WriteStringValue(bytes[TextTag.Length..]);
        }
        else if (bytes.SequenceEqual("b:true"u8) || bytes.SequenceEqual("b:false"u8))
        {
            writer.WriteBooleanValue(bytes.Length == True.Length);
        }
        else
        {
            throw Unreadable(bytes);
        }
    }

    private static InvalidDataException Unreadable(ReadOnlySpan<byte> bytes) =>
        new($"The online store holds a value it cannot read as a tagged number, string or boolean: '{CellValues.Truncate(Encoding.UTF8.GetString(bytes))}'.");

    private static string Number(double number) => NumberTag + number.ToString("R", CultureInfo.InvariantCulture);

    private static string Describe(object value) => value is JsonElement json ? $"JSON {json.ValueKind}" : value.GetType().Name;
}
