using System.Reflection;
using System.Text.Json;
using CommunityToolkit.HighPerformance.Buffers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ModelPlatform;

/// <summary>
/// A 200 whose JSON is serialized whole into pooled memory, then written with its length in one write. For large answers
/// (the online store's reads: 100 KiB and more), in place of <see cref="TypedResults.Ok{TValue}(TValue)"/>.
/// </summary>
/// <remarks>
/// ASP.NET Core's JSON results serialize into the response and flush as they go. With a large answer, the socket then sends
/// one piece while the serializer asks for memory for the next, and the two take turns at the response pipe's lock: in a
/// trace of the feature service under the online-read benchmark, a tenth of its threads' samples waited there. Writing the
/// finished answer once takes the lock once, and sends a Content-Length in place of chunks.
/// </remarks>
public sealed class BufferedJsonResult<TValue>(TValue value)
    : IResult, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<TValue>, IContentTypeHttpResult, IEndpointMetadataProvider
{
    private const string JsonContentType = "application/json; charset=utf-8";

    // Growing the buffer copies it. The online store's read of 100 entities × 30 features is about 140 KiB; the pool hands
    // the same arrays out again, so a generous first size costs only memory while an answer is written.
    private const int InitialBufferBytes = 256 * 1024;

    public TValue Value { get; } = value;

    object? IValueHttpResult.Value => Value;

    public int StatusCode => StatusCodes.Status200OK;

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    public string ContentType => JsonContentType;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var options = httpContext.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        using var buffer = new ArrayPoolBufferWriter<byte>(InitialBufferBytes);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = options.Encoder, Indented = options.WriteIndented }))
        {
            JsonSerializer.Serialize(writer, Value, options);
        }

        httpContext.Response.StatusCode = StatusCode;
        httpContext.Response.ContentType = ContentType;
        httpContext.Response.ContentLength = buffer.WrittenCount;
        await httpContext.Response.Body.WriteAsync(buffer.WrittenMemory, httpContext.RequestAborted);
    }

    static void IEndpointMetadataProvider.PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(TValue), ["application/json"]));
    }
}
