using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using ModelPlatform.Contracts;
using ModelPlatform.Storage;
using ModelPlatform.Training.Pipelines;

namespace ModelPlatform.Training.Apis;

public static class PipelinesApi
{
    public static IEndpointRouteBuilder MapPipelinesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/pipelines").WithTags("Pipelines");

        api.MapGet("/", ListPipelines).WithName("ListPipelines")
            .WithSummary("List pipelines with their current definitions and next ticks; ?model= those that train one model")
            .RequireRoles(PlatformRoles.Reader);
        api.MapGet("/{name}", GetPipeline).WithName("GetPipeline").WithSummary("Get a pipeline's current definition, next tick and pending new data")
            .RequireRoles(PlatformRoles.Reader);
        api.MapPut("/{name}", SavePipeline)
            .WithName("SavePipeline")
            .WithSummary("Define a pipeline, or change it as its next version: what it trains, on which data, when, and the gate its candidates "
                + "pass to be promoted (a gate needs the deployer role too)")
            .RequireRoles(PlatformRoles.Scientist);
        api.MapDelete("/{name}", DeletePipeline).WithName("DeletePipeline")
            .WithSummary("Delete a pipeline: it starts no more runs; its versions and runs stay readable")
            .RequireRoles(PlatformRoles.Scientist);
        api.MapGet("/{name}/versions", ListVersions).WithName("ListPipelineVersions").WithSummary("Every version of a pipeline's definition, newest first")
            .RequireRoles(PlatformRoles.Reader);
        api.MapPost("/{name}/runs", TriggerRun).WithName("TriggerPipelineRun")
            .WithSummary("Run a pipeline now; 409 when another run is active and the pipeline skips (or already queued one)")
            .RequireRoles(PlatformRoles.Scientist);
        api.MapGet("/{name}/runs", ListRuns).WithName("ListPipelineRuns")
            .WithSummary("A pipeline's runs, newest first: trigger, job, candidate version, the gate's verdict with its numbers, and every step")
            .RequireRoles(PlatformRoles.Reader);
        api.MapGet("/{name}/runs/{id:guid}", GetRun).WithName("GetPipelineRun").WithSummary("One run of a pipeline, with every step")
            .RequireRoles(PlatformRoles.Reader);

        return app;
    }

    public static async Task<Ok<IReadOnlyList<PipelineInfo>>> ListPipelines(
        PipelineStore pipelines, CancellationToken cancellationToken, string? model = null) =>
        TypedResults.Ok<IReadOnlyList<PipelineInfo>>([.. (await pipelines.ListAsync(cancellationToken))
            .Where(pipeline => model is null || pipeline.Definition.Model == model)]);

    public static async Task<Results<Ok<PipelineInfo>, NotFound<ProblemDetails>>> GetPipeline(
        string name, PipelineStore pipelines, CancellationToken cancellationToken) =>
        await pipelines.GetAsync(name, cancellationToken) is { } pipeline ? TypedResults.Ok(pipeline) : NotFound(name);

    public static async Task<Results<Ok<PipelineInfo>, Created<PipelineInfo>, ValidationProblem, ProblemHttpResult>> SavePipeline(
        string name, PipelineDefinition definition, PipelineStore pipelines, HttpContext context, CancellationToken cancellationToken)
    {
        var (errors, schedule) = PipelineValidation.Validate(name, definition);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        // A gate promotes: only someone who may move production may declare one.
        if (definition.Gate is not null && !context.User.IsInRole(PlatformRoles.Deployer))
        {
            return TypedResults.Problem("A pipeline with a gate promotes its candidates to production: declaring one (gate) needs the deployer role.",
                statusCode: StatusCodes.Status403Forbidden);
        }

        var (saved, created) = await pipelines.SaveAsync(name, definition, schedule, AuditActor.From(context), cancellationToken);
        return created ? TypedResults.Created($"/pipelines/{name}", saved) : TypedResults.Ok(saved);
    }

    public static async Task<Results<NoContent, NotFound<ProblemDetails>>> DeletePipeline(
        string name, PipelineStore pipelines, HttpContext context, CancellationToken cancellationToken) =>
        await pipelines.DeleteAsync(name, AuditActor.From(context), cancellationToken) ? TypedResults.NoContent() : NotFound(name);

    public static async Task<Results<Ok<IReadOnlyList<PipelineVersionInfo>>, NotFound<ProblemDetails>>> ListVersions(
        string name, PipelineStore pipelines, CancellationToken cancellationToken) =>
        await pipelines.ListVersionsAsync(name, cancellationToken) is { Count: > 0 } versions ? TypedResults.Ok(versions) : NotFound(name);

    public static async Task<Results<Accepted<PipelineRun>, NotFound<ProblemDetails>, Conflict<ProblemDetails>>> TriggerRun(
        string name, PipelineStore pipelines, PipelineWakeUp wakeUp, HttpContext context, CancellationToken cancellationToken)
    {
        if (await pipelines.TriggerAsync(name, AuditActor.From(context), cancellationToken) is not { } run)
        {
            return NotFound(name);
        }

        if (run.Status == PipelineRunStatuses.Skipped)
        {
            return TypedResults.Conflict(new ProblemDetails
            {
                Title = "Another run of the pipeline is active",
                Status = StatusCodes.Status409Conflict,
                Detail = $"Pipeline '{name}' runs one at a time: {run.Reason}. The request is recorded as run {run.Id}, skipped.",
            });
        }

        wakeUp.Wake();
        return TypedResults.Accepted($"/pipelines/{name}/runs/{run.Id}", run);
    }

    public static async Task<Results<Ok<IReadOnlyList<PipelineRun>>, NotFound<ProblemDetails>>> ListRuns(
        string name, PipelineStore pipelines, CancellationToken cancellationToken, int limit = 50) =>
        (await pipelines.ListVersionsAsync(name, cancellationToken)).Count == 0
            ? NotFound(name)
            : TypedResults.Ok(await pipelines.ListRunsAsync(name, Math.Clamp(limit, 1, 1000), cancellationToken));

    public static async Task<Results<Ok<PipelineRun>, NotFound<ProblemDetails>>> GetRun(
        string name, Guid id, PipelineStore pipelines, CancellationToken cancellationToken) =>
        await pipelines.GetRunAsync(id, cancellationToken) is { } run && run.Pipeline == name
            ? TypedResults.Ok(run)
            : ProblemResults.NotFound($"Pipeline '{name}' has no run '{id}'.");

    private static NotFound<ProblemDetails> NotFound(string name) => ProblemResults.NotFound($"There is no pipeline '{name}'.");
}
