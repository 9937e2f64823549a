using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using ModelPlatform.Storage;
using ModelPlatform.Training.Jobs;

namespace ModelPlatform.Training.Apis;

/// <summary>What the APIs of every kind of job answer alike: get, cancel, and the status filter of a list.</summary>
internal static class JobEndpoints
{
    public static async Task<Results<Ok<TJob>, NotFound<ProblemDetails>>> GetAsync<TJob>(
        LeasedJobStore<TJob> jobs, Guid id, string kind, CancellationToken cancellationToken) where TJob : class =>
        await jobs.GetAsync(id, cancellationToken) is { } job ? TypedResults.Ok(job) : NotFound(kind, id);

    /// <summary>Cancels a queued job at once, or asks a running one to stop; a finished job is a 409.</summary>
    public static async Task<Results<Accepted<TJob>, NotFound<ProblemDetails>, Conflict<ProblemDetails>>> CancelAsync<TJob>(
        LeasedJobStore<TJob> jobs, Guid id, string kind, Func<TJob, JobStatus> status, HttpContext context, CancellationToken cancellationToken)
        where TJob : class
    {
        var before = await jobs.GetAsync(id, cancellationToken);
        if (before is null)
        {
            return NotFound(kind, id);
        }

        if (status(before) is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled)
        {
            return TypedResults.Conflict(new ProblemDetails
            {
                Title = "The job has already finished",
                Status = StatusCodes.Status409Conflict,
                Detail = $"The {kind} '{id}' is {JobStatuses.Name(status(before))}; only queued or running jobs can be cancelled.",
            });
        }

        var job = await jobs.RequestCancelAsync(id, AuditActor.From(context), cancellationToken);
        return TypedResults.Accepted($"/{jobs.Resources}/{id}", job!);
    }

    /// <summary>
    /// Jobs newest first, optionally of a status and a model. The status is read as the API writes it ("succeeded"), which
    /// the framework's enum binding would refuse.
    /// </summary>
    public static async Task<Results<Ok<IReadOnlyList<TJob>>, ValidationProblem>> ListAsync<TJob>(
        LeasedJobStore<TJob> jobs, string? status, string? model, int limit, CancellationToken cancellationToken) where TJob : class
    {
        JobStatus? wanted = null;
        if (status is not null)
        {
            if (!JobStatuses.TryParse(status, out var parsed))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                {
                    ["status"] = [$"'{status}' is not a job status; choose one of {string.Join(", ", JobStatuses.Names)}"],
                });
            }

            wanted = parsed;
        }

        return TypedResults.Ok(await jobs.ListAsync(wanted, model, Math.Clamp(limit, 1, 1000), cancellationToken));
    }

    public static NotFound<ProblemDetails> NotFound(string kind, Guid id) => ProblemResults.NotFound($"There is no {kind} '{id}'.");
}
