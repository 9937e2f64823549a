using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Resilience for clients that move artifacts and datasets. The standard handler's timeouts (10 s an attempt, 30 s in all)
/// suit small requests, and still do here when the other side hangs; a transfer gets that much plus the time to move its
/// bytes at <see cref="MinimumBytesPerSecond"/>: the request's body, or the <see cref="ExpectedBytes"/> of its answer.
/// Only methods that are safe to repeat are retried, unless the caller says its POSTs are idempotent.
/// </summary>
public static class LargeTransfers
{
    /// <summary>A request option: how many bytes the answer should hold (an artifact's recorded size).</summary>
    public static readonly HttpRequestOptionsKey<long> ExpectedBytes = new("ModelPlatform.ExpectedBytes");

    /// <summary>The slowest link a transfer is given time for: 1 MB/s.</summary>
    public const double MinimumBytesPerSecond = 1_000_000;

    private static readonly TimeSpan SmallRequestTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long one attempt of <paramref name="request"/> may take.</summary>
    public static TimeSpan AttemptTimeout(HttpRequestMessage? request)
    {
        var bytes = request?.Content?.Headers.ContentLength ?? 0;
        if (request is not null && request.Options.TryGetValue(ExpectedBytes, out var expected))
        {
            bytes += expected;
        }

        return SmallRequestTimeout + TimeSpan.FromSeconds(bytes / MinimumBytesPerSecond);
    }

    public static IHttpClientBuilder AddLargeTransferResilience(this IHttpClientBuilder http, bool postsAreIdempotent = false)
    {
        // Experimental, but the documented way to replace the handler the defaults add to every client.
#pragma warning disable EXTEXP0001
        http.RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        http.AddStandardResilienceHandler(options =>
        {
            options.AttemptTimeout.TimeoutGenerator = args => ValueTask.FromResult(AttemptTimeout(args.Context.GetRequestMessage()));
            // As the standard handler: three attempts' worth in all.
            options.TotalRequestTimeout.TimeoutGenerator = args => ValueTask.FromResult(AttemptTimeout(args.Context.GetRequestMessage()) * 3);
            if (!postsAreIdempotent)
            {
                options.Retry.DisableForUnsafeHttpMethods();
            }
        });
        return http;
    }
}
