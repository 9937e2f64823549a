using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;

namespace ModelPlatform.Features.Online;

/// <summary>
/// One entity's row of a feature view as the online store keeps it: a Redis string
/// <c>{event time}:{created time}:{"feature":"value",…}</c>, times in Unix microseconds (created 0 when none), values in
/// <see cref="OnlineValues"/>' tagged form and a null value absent. The times lead so the write script compares rows without
/// parsing the rest; one string a row lets a read fetch a whole view's entities with one MGET.
/// </summary>
internal static class OnlineRecord
{
    public static byte[] Encode(long eventTime, long createdTime, IEnumerable<(string Feature, string Value)> values)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var prefix = $"{eventTime}:{createdTime}:";
        System.Text.Encoding.ASCII.GetBytes(prefix, buffer.GetSpan(prefix.Length));
        buffer.Advance(prefix.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (feature, value) in values)
            {
                writer.WriteString(feature, value);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The row's event time, and the JSON of its values; false when the bytes are not a row.</summary>
    public static bool TryRead(ReadOnlyMemory<byte> stored, out long eventTime, out ReadOnlyMemory<byte> values)
    {
        values = default;
        var span = stored.Span;
        if (!Utf8Parser.TryParse(span, out eventTime, out var eventLength) || span.Length <= eventLength || span[eventLength] != ':')
        {
            return false;
        }

        var rest = span[(eventLength + 1)..];
        if (!Utf8Parser.TryParse(rest, out long _, out var createdLength) || rest.Length <= createdLength || rest[createdLength] != ':')
        {
            return false;
        }

        values = stored[(eventLength + 1 + createdLength + 1)..];
        return true;
    }

    /// <summary>
    /// Finds each of <paramref name="features"/> (UTF-8 names) in a row's values: <paramref name="found"/>[i] is the tagged
    /// text of features[i] (<see cref="OnlineValues"/>), a slice of the row unless JSON escaped it, or empty when the row has none.
    /// </summary>
    public static void Read(ReadOnlyMemory<byte> values, byte[][] features, ReadOnlyMemory<byte>[] found)
    {
        Array.Clear(found);
        var reader = new Utf8JsonReader(values.Span);
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            var index = -1;
            for (var i = 0; i < features.Length && index < 0; i++)
            {
                index = reader.ValueTextEquals(features[i]) ? i : -1;
            }

            reader.Read();
            if (index >= 0)
            {
                // A string token starts at its opening quote.
                found[index] = reader.ValueIsEscaped
                    ? System.Text.Encoding.UTF8.GetBytes(reader.GetString()!)
                    : values.Slice((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length);
            }
        }
    }
}
