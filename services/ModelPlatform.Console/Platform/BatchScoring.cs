using System.Net.Http.Headers;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using ModelPlatform.Contracts;

namespace ModelPlatform.Console.Platform;

/// <summary>
/// Try it's CSV scoring: the browser posts a file, the console streams it to the inference service as the person signed
/// in, and streams the predictions back as a download. Neither side holds the file whole.
/// </summary>
public static class BatchScoring
{
    public static IEndpointRouteBuilder MapBatchScoring(this IEndpointRouteBuilder app)
    {
        app.MapPost("/try/score", ScoreAsync)
            .RequireAuthorization(new AuthorizeAttribute { Roles = PlatformRoles.Predictor })
            .WithMetadata(
                new RequestSizeLimitAttribute(UploadLimits.MaxBytes),
                new RequestFormLimitsAttribute { MultipartBodyLengthLimit = UploadLimits.MaxBytes })
            .ExcludeFromDescription();
        return app;
    }

    private static async Task<IResult> ScoreAsync(
        IFormFile file, [FromQuery] string model, [FromQuery] string? alias, [FromQuery] int? version, HttpContext context, CancellationToken cancellationToken)
    {
        var api = PlatformApi.For(context);
        var target = version is { } number ? $"version={number}" : $"alias={Uri.EscapeDataString(alias ?? "production")}";
        var content = new StreamContent(file.OpenReadStream()) { Headers = { ContentType = new MediaTypeHeaderValue("text/csv") } };
        try
        {
            var response = await api.SendAsync(
                PlatformServices.Inference, HttpMethod.Post, $"/models/{Uri.EscapeDataString(model)}/predict?{target}", content, cancellationToken);
            // The predictions stream out after this returns: the inference response is released with the console's.
            context.Response.RegisterForDispose(response);
            return TypedResults.Stream(
                await response.Content.ReadAsStreamAsync(cancellationToken), "text/csv", $"{model}-predictions.csv");
        }
        catch (ServiceProblemException problem)
        {
            // A person reads this in the browser: the service's own words, as text.
            return TypedResults.Text($"The file was not scored. {problem.Message}{Details(problem)}", "text/plain", statusCode: problem.Status);
        }
    }

    private static string Details(ServiceProblemException problem) =>
        string.Concat(problem.Errors.SelectMany(error => error.Value.Select(message => $"\n{error.Key}: {message}")));
}
