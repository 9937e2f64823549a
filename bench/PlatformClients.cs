using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ModelPlatform.Bench;

/// <summary>Clients of a platform the benchmarks started, and the key they send (shared by the benchmark projects).</summary>
internal static class PlatformClients
{
    /// <summary>
    /// Starts the whole platform from its AppHost on <paramref name="store"/> (sqlite or postgres), in a new data folder,
    /// as the integration tests do (without telemetry export, which is not what is measured), and makes a key with every role.
    /// </summary>
    /// <param name="configure">A benchmark's own changes to the app model before it is built, such as an endpoint not proxied.</param>
    public static async Task<(DistributedApplication App, DirectoryInfo Data, string Key)> StartAsync(
        string store, Action<IDistributedApplicationTestingBuilder>? configure = null)
    {
        var data = Directory.CreateTempSubdirectory("modelplatform-bench-");
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.ModelPlatform_AppHost>(
            [$"Platform:DataDirectory={data.FullName}", $"Platform:Store={store}"]);
        // The AppHost's health probes log every refused connection while services start; only real errors matter here.
        builder.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None));
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            builder.CreateResourceBuilder(project).WithEnvironment("OTEL_EXPORTER_OTLP_ENDPOINT", "");
        }

        configure?.Invoke(builder);
        var app = await builder.BuildAsync();
        await app.StartAsync();
        foreach (var service in new[] { "identity", "feature", "training", "registry", "inference" })
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(service);
        }

        return (app, data, await CreateKeyAsync(app, data.FullName));
    }

    /// <summary>Submits a training job and waits for it to succeed; returns the seconds from submit to registered version, and the job.</summary>
    /// <param name="polled">Given the job's state each time it is read (every 50 ms), as it runs.</param>
    public static Task<(double Seconds, JsonObject Job)> TrainAsync(HttpClient training, object job, Action<JsonObject>? polled = null) =>
        RunJobAsync(training, "/training-jobs", job, TimeSpan.FromMilliseconds(50), polled);

    /// <summary>
    /// Submits a job to <paramref name="jobs"/> (training or batch prediction jobs: the same states) and reads it every
    /// <paramref name="poll"/> until it succeeds; returns the seconds from submit to the read that saw it succeeded, and the job.
    /// </summary>
    public static async Task<(double Seconds, JsonObject Job)> RunJobAsync(
        HttpClient client, string jobs, object job, TimeSpan poll, Action<JsonObject>? polled = null)
    {
        var clock = Stopwatch.StartNew();
        using var submitted = await client.PostAsJsonAsync(jobs, job);
        if (!submitted.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST {jobs}: {(int)submitted.StatusCode} {await submitted.Content.ReadAsStringAsync()}");
        }

        var id = (await submitted.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        while (true)
        {
            var state = (await client.GetFromJsonAsync<JsonObject>($"{jobs}/{id}"))!;
            polled?.Invoke(state);
            switch (state["status"]!.GetValue<string>())
            {
                case "succeeded":
                    return (clock.Elapsed.TotalSeconds, state);
                case "failed" or "cancelled":
                    throw new InvalidOperationException($"The job did not succeed: {state}");
            }

            await Task.Delay(poll);
        }
    }

    /// <summary>Makes a key with every user role, with the first admin key the AppHost generated in <paramref name="dataDirectory"/>.</summary>
    public static async Task<string> CreateKeyAsync(DistributedApplication app, string dataDirectory)
    {
        var admin = (await File.ReadAllTextAsync(Path.Combine(dataDirectory, "secrets", "admin-api-key"))).Trim();
        using var identity = Client(app, "identity", admin);
        using var response = await identity.PostAsJsonAsync("/api-keys",
            new { name = "bench", roles = new[] { "reader", "predictor", "scientist", "deployer", "admin" } });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["key"]!.GetValue<string>();
    }

    public static HttpClient Client(DistributedApplication app, string service, string key)
    {
        var client = app.CreateHttpClient(service);
        client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return client;
    }
}
