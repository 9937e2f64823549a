using System.Buffers;
using System.Collections;
using System.Text.Json;

namespace ModelPlatform.Features.Online;

/// <summary>
/// The event times of one view's rows in a read, shared by the results of all the view's features (a row's features share
/// its event time). Written as JSON, the times are formatted once for all of them: formatting was a seventh of the feature
/// service's work on a read of 100 entities × 30 features, nine tenths of it repeated.
/// </summary>
internal sealed class EventTimeList(DateTimeOffset?[] times) : IReadOnlyList<DateTimeOffset?>
{
    private ArrayBufferWriter<byte>? _json;

    public DateTimeOffset? this[int index] => times[index];

    public int Count => times.Length;

    public IEnumerator<DateTimeOffset?> GetEnumerator() => ((IEnumerable<DateTimeOffset?>)times).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Writes the times as a JSON array (null where no row was found), formatting them the first time only.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        if (_json is null)
        {
            // At most 31 bytes a time: "2026-11-28T09:30:00.123456Z" and a comma.
            _json = new ArrayBufferWriter<byte>(times.Length * 31 + 2);
            using var arrayWriter = new Utf8JsonWriter(_json);
            OnlineFeatureResultConverter.WriteTimes(arrayWriter, times);
        }

        writer.WriteRawValue(_json.WrittenSpan, skipInputValidation: true);
    }
}
