using System.Text.Json;
using System.Text.Json.Serialization;

namespace ModelPlatform.Features.Online;

/// <summary>
/// Writes a result's values, statuses and event times straight to the writer, as the serializer would but without its
/// per-value work: a read of 100 entities × 30 features is 9,000 of them, most of the answer's time. A number JSON cannot
/// hold (NaN, an infinity) is written as null. Reads as the serializer does.
/// </summary>
public sealed class OnlineFeatureResultConverter : JsonConverter<OnlineFeatureResult>
{
    private static readonly JsonEncodedText ValuesName = JsonEncodedText.Encode("values");
    private static readonly JsonEncodedText StatusesName = JsonEncodedText.Encode("statuses");
    private static readonly JsonEncodedText EventTimestampsName = JsonEncodedText.Encode("eventTimestamps");
    private static readonly JsonEncodedText[] StatusNames =
        [.. Enum.GetValues<FeatureStatus>().Select(status => JsonEncodedText.Encode(JsonSerializer.Serialize(status).Trim('"')))];

    public override OnlineFeatureResult Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var (values, statuses, times) = (new List<object?>(), new List<FeatureStatus>(), new List<DateTimeOffset?>());
        using var document = JsonDocument.ParseValue(ref reader);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            if (property.NameEquals("values"))
            {
                values.AddRange(property.Value.EnumerateArray().Select(value => (object?)(value.ValueKind switch
                {
                    JsonValueKind.Number => value.GetDouble(),
                    JsonValueKind.String => value.GetString(),
                    JsonValueKind.True or JsonValueKind.False => value.GetBoolean(),
                    _ => null,
                })));
            }
            else if (property.NameEquals("statuses"))
            {
                statuses.AddRange(property.Value.EnumerateArray().Select(status => status.Deserialize<FeatureStatus>(options)));
            }
            else if (property.NameEquals("eventTimestamps"))
            {
                times.AddRange(property.Value.EnumerateArray()
                    .Select(time => time.ValueKind == JsonValueKind.Null ? null : (DateTimeOffset?)time.GetDateTimeOffset()));
            }
        }

        return new OnlineFeatureResult(values, statuses, times);
    }

    public override void Write(Utf8JsonWriter writer, OnlineFeatureResult value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteStartArray(ValuesName);
        for (var index = 0; index < value.Values.Count; index++)
        {
            WriteValue(writer, value.Values, index);
        }

        writer.WriteEndArray();
        writer.WriteStartArray(StatusesName);
        foreach (var status in value.Statuses)
        {
            writer.WriteStringValue(StatusNames[(int)status]);
        }

        writer.WriteEndArray();
        writer.WritePropertyName(EventTimestampsName);
        if (value.EventTimestamps is EventTimeList shared)
        {
            shared.WriteTo(writer);
        }
        else
        {
            WriteTimes(writer, value.EventTimestamps);
        }

        writer.WriteEndObject();
    }

    /// <summary>Event times as a JSON array of UTC times (<c>2026-11-28T09:30:00Z</c>, as Feast writes them), null where no row was found.</summary>
    internal static void WriteTimes(Utf8JsonWriter writer, IEnumerable<DateTimeOffset?> times)
    {
        writer.WriteStartArray();
        foreach (var time in times)
        {
            if (time is { } known)
            {
                // "Z", not "+00:00": most of an answer's bytes are its times.
                writer.WriteStringValue(known.UtcDateTime);
            }
            else
            {
                writer.WriteNullValue();
            }
        }

        writer.WriteEndArray();
    }

    /// <summary>
    /// <paramref name="values"/>[<paramref name="index"/>] as JSON: from its stored text when the values are a read's
    /// (no number parsed and formatted back), else as <see cref="WriteValue(Utf8JsonWriter, object?)"/> writes it.
    /// </summary>
    public static void WriteValue(Utf8JsonWriter writer, IReadOnlyList<object?> values, int index)
    {
        if (values is StoredValueList stored)
        {
            stored.WriteTo(writer, index);
        }
        else
        {
            WriteValue(writer, values[index]);
        }
    }

    /// <summary>A value as the online store reads it (a double, string or boolean), as JSON; a non-finite number as null.</summary>
    private static void WriteValue(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case double number when double.IsFinite(number):
                writer.WriteNumberValue(number);
                break;
            case string text:
                writer.WriteStringValue(text);
                break;
            case bool flag:
                writer.WriteBooleanValue(flag);
                break;
            case null or double:
                writer.WriteNullValue();
                break;
            default:
                JsonSerializer.Serialize(writer, value);
                break;
        }
    }
}
