using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using ModelPlatform.Inference.Apis;
using ModelPlatform.Inference.Protocols;
using ModelPlatform.Inference.Serving;

namespace ModelPlatform.Inference.Tests;

/// <summary>What the OpenAPI document says each inference route answers, from the handlers' typed results and metadata.</summary>
public sealed class ApiMetadataTests : IAsyncDisposable
{
    private readonly WebApplication _app;

    public ApiMetadataTests()
    {
        var builder = WebApplication.CreateSlimBuilder();
        // Registered so the handlers' parameters bind as services; no request is served here.
        Type[] services =
        [
            typeof(Scoring), typeof(ShadowTotals), typeof(LiveTrafficTotals), typeof(ModelCatalog), typeof(LoadedModels), typeof(ServingReadiness),
            typeof(ServingDrift),
        ];
        foreach (var service in services)
        {
            builder.Services.AddSingleton(service, _ => throw new NotSupportedException());
        }

        builder.Services.AddOptions<InferenceOptions>();
        _app = builder.Build();
        _app.MapPredictApi();
        _app.MapOpenInferenceApi();
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private List<(int Status, Type? Type, string[] ContentTypes)> Responses(string name)
    {
        var endpoint = ((IEndpointRouteBuilder)_app).DataSources.SelectMany(source => source.Endpoints)
            .Single(endpoint => endpoint.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName == name);
        return [.. endpoint.Metadata.GetOrderedMetadata<IProducesResponseTypeMetadata>()
            .Select(response => (response.StatusCode, response.Type, response.ContentTypes.ToArray()))];
    }

    [Theory]
    [InlineData("OipInfer")]
    [InlineData("OipVersionInfer")]
    public void InferenceAnswersATensorResponseOrAnError(string name)
    {
        var responses = Responses(name);

        Assert.Contains(responses, response => response is (StatusCodes.Status200OK, { } type, _) && type == typeof(InferenceResponse));
        foreach (var status in new[] { StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status413PayloadTooLarge })
        {
            Assert.Contains(responses, response => response.Status == status && response.Type == typeof(InferenceError));
        }
    }

    [Fact]
    public void ReadinessAnswersTheSameShapeReadyOrNot()
    {
        var responses = Responses("OipModelReady");

        Assert.Contains(responses, response => response is (StatusCodes.Status200OK, { } type, _) && type == typeof(ModelReadyResponse));
        Assert.Contains(responses, response => response is (StatusCodes.Status503ServiceUnavailable, { } type, _) && type == typeof(ModelReadyResponse));
        Assert.Contains(responses, response => response.Status == StatusCodes.Status404NotFound && response.Type == typeof(InferenceError));
    }

    [Fact]
    public void PredictAnswersJsonCsvOrJsonLinesAndProblems()
    {
        var responses = Responses("Predict");

        Assert.Contains(responses, response => response is (StatusCodes.Status200OK, { } type, _) && type == typeof(PredictResponse));
        Assert.Contains(responses, response => response.Status == StatusCodes.Status200OK && response.ContentTypes.Contains("text/csv"));
        Assert.Contains(responses, response => response.Status == StatusCodes.Status200OK && response.ContentTypes.Contains(CsvScoring.JsonLinesContentType));
        Assert.Contains(responses, response => response.Status == StatusCodes.Status400BadRequest && response.Type == typeof(HttpValidationProblemDetails));
        foreach (var status in new[] { StatusCodes.Status404NotFound, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType })
        {
            Assert.Contains(responses, response => response.Status == status && response.Type == typeof(ProblemDetails));
        }
    }
}
