using System.Diagnostics;
using System.Globalization;
using ModelPlatform.Inference.Serving;

namespace ModelPlatform.Inference.Apis;

/// <summary>
/// Counts each request to a scoring endpoint, whatever its protocol, for the version that answered it
/// (<see cref="LiveTrafficTally"/>): timed from when it reaches the endpoint to when its answer is written, and failed
/// when the answer is 400 or more or an exception escapes. The version is the one the endpoint named in its
/// <see cref="PredictApi.ModelVersionHeader"/> header as soon as it chose it, so a request a version could not read
/// (a column it needs missing) is that version's error; a request answered before any version was chosen is none's.
/// </summary>
public static class LiveTrafficCounting
{
    /// <summary>Marks an endpoint whose requests are counted.</summary>
    public static RouteHandlerBuilder CountsLiveTraffic(this RouteHandlerBuilder endpoint) => endpoint.WithMetadata(ScoringEndpoint.Instance);

    /// <summary>Counts the requests of the endpoints marked with <see cref="CountsLiveTraffic"/>; place after routing.</summary>
    public static IApplicationBuilder UseLiveTrafficCounting(this IApplicationBuilder app)
    {
        var tally = app.ApplicationServices.GetRequiredService<LiveTrafficTally>();
        return app.Use(next => context => context.GetEndpoint()?.Metadata.GetMetadata<ScoringEndpoint>() is null
            ? next(context)
            : CountAsync(context, next, tally));
    }

    private static async Task CountAsync(HttpContext context, RequestDelegate next, LiveTrafficTally tally)
    {
        var started = Stopwatch.GetTimestamp();
        var threw = false;
        try
        {
            await next(context);
        }
        catch
        {
            threw = true;
            throw;
        }
        finally
        {
            if (context.Request.RouteValues["name"] is string model
                && Outcome(context.Response.Headers[PredictApi.ModelVersionHeader], context.Response.StatusCode, threw,
                    context.RequestAborted.IsCancellationRequested) is { } answered)
            {
                tally.Answered(model, answered.Version, answered.Failed, Stopwatch.GetElapsedTime(started));
            }
        }
    }

    /// <summary>
    /// The version a finished request counts for, and whether it failed; null when it counts for none: no version answered
    /// it (no <paramref name="answeredBy"/>: an unknown model or version, or a request refused before one was chosen), or
    /// its caller went away (<paramref name="aborted"/>), which says nothing of the version.
    /// </summary>
    internal static (int Version, bool Failed)? Outcome(string? answeredBy, int statusCode, bool threw, bool aborted) =>
        aborted || !int.TryParse(answeredBy, NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            ? null
            : (version, threw || statusCode >= StatusCodes.Status400BadRequest);

    private sealed class ScoringEndpoint
    {
        public static readonly ScoringEndpoint Instance = new();
    }
}
