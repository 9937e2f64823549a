using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ModelPlatform.Bench.Inference;

/// <summary>
/// Baseline (b), the HTTP ceiling: ASP.NET Core parsing the same JSON and answering the same shape, with no model,
/// no logging, no telemetry. What any endpoint on this machine can do at best.
/// </summary>
internal static class TrivialServer
{
    public static async Task RunAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        app.MapPost("/models/{name}/predict", async (string name, HttpRequest request) =>
        {
            using var body = await JsonDocument.ParseAsync(request.Body);
            var predictions = new List<object>();
            foreach (var record in body.RootElement.GetProperty("records").EnumerateArray())
            {
                predictions.Add(new { label = record.EnumerateObject().Count() > 4 ? "no" : "yes", probability = 0.5f });
            }

            return Results.Ok(new { model = name, version = 1, predictions });
        });
        await app.RunAsync();
    }
}
