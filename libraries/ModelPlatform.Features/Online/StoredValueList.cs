using System.Collections;
using System.Text.Json;

namespace ModelPlatform.Features.Online;

/// <summary>
/// One feature's values in a read, kept as the store's text (<see cref="OnlineValues"/>' tagged form, in the reply's own bytes)
/// and decoded only when asked for. Written as JSON, a number goes out as the text it was stored as: a read of 100 entities ×
/// 30 features spent a fifth of the feature service's work parsing 3,000 numbers to box them and format them back.
/// </summary>
internal sealed class StoredValueList(ReadOnlyMemory<byte>[] stored) : IReadOnlyList<object?>
{
    /// <summary>The value as a double, string or boolean (decoded again on every call); null where the value is not present.</summary>
    public object? this[int index] => stored[index].IsEmpty ? null : OnlineValues.Decode(stored[index].Span);

    public int Count => stored.Length;

    /// <summary>Writes one value as JSON, from its stored text; null where the value is not present.</summary>
    public void WriteTo(Utf8JsonWriter writer, int index)
    {
        if (stored[index].IsEmpty)
        {
            writer.WriteNullValue();
        }
        else
        {
            OnlineValues.WriteJson(writer, stored[index].Span);
        }
    }

    public IEnumerator<object?> GetEnumerator()
    {
        for (var index = 0; index < stored.Length; index++)
        {
            yield return this[index];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
