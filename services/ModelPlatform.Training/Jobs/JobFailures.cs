using System.Net;
using ModelPlatform.ML;

namespace ModelPlatform.Training.Jobs;

/// <summary>Training itself failed: the same rows, settings and seed would fail the same way again.</summary>
public sealed class TrainingFailedException(Exception inner) : Exception($"training failed: {inner.Message}", inner);

/// <summary>Which failures a retry of the job can cure: only those of what the job depends on, never of the job itself.</summary>
public static class JobFailures
{
    /// <summary>
    /// True for failures that would recur on every attempt: bad data, training that throws, and a service refusing the
    /// request (4xx other than a timeout or throttling). Unreachable services, 5xx answers and time-outs are worth a retry.
    /// </summary>
    public static bool IsPermanent(Exception exception) => exception switch
    {
        TrainingDataException or TrainingFailedException => true,
        HttpRequestException { StatusCode: { } status } => (int)status is >= 400 and < 500
            && status is not (HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests),
        _ => false,
    };
}
