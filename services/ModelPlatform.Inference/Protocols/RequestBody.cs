using System.Buffers;

namespace ModelPlatform.Inference.Protocols;

/// <summary>
/// A request body read whole into one pooled buffer, so it can be parsed without a copy (and parsed again, on the rare
/// path that needs it) and the buffer given back when the request is done. The server's request-size limit applies as
/// the body is read: past it, reading throws a <see cref="BadHttpRequestException"/> with status 413.
/// </summary>
internal sealed class RequestBody : IDisposable
{
    private byte[] _buffer;

    private RequestBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    public static async Task<RequestBody> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        // The declared length when there is one (the limit is enforced while reading, whatever it says).
        var buffer = ArrayPool<byte>.Shared.Rent(request.ContentLength is > 0 and < 1 << 20 ? (int)request.ContentLength.Value + 1 : 4096);
        var length = 0;
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
            {
                length += read;
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(checked(buffer.Length * 2));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
            }

            return new RequestBody(buffer, length);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
