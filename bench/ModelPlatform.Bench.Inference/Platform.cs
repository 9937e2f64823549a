using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelPlatform.Contracts;

namespace ModelPlatform.Bench.Inference;

/// <summary>
/// The whole platform from its AppHost (real Redis, RabbitMQ and the four services), set up as it would be deployed:
/// Release builds, the Production environment (its appsettings.json logging) for the inference service, telemetry exported over
/// OTLP as a deployment configures it, and the inference service reached directly rather than through the local proxy
/// Aspire puts in front of services.
/// </summary>
internal sealed class Platform : IAsyncDisposable
{
    private readonly DistributedApplication _app;
    private readonly DirectoryInfo _data;

    private Platform(DistributedApplication app, DirectoryInfo data, string key)
    {
        _app = app;
        _data = data;
        Key = key;
        Feature = Client(app, "feature", key);
        Training = Client(app, "training", key);
        Registry = Client(app, "registry", key);
        InferenceUrl = app.GetEndpoint("inference", "http");
        Inference = new HttpClient { BaseAddress = InferenceUrl, DefaultRequestHeaders = { Authorization = new("Bearer", key) } };
        // Batch mode uploads and scores files of a million rows, longer than the default 100 s would allow on a busy machine.
        Feature.Timeout = Inference.Timeout = TimeSpan.FromMinutes(30);
    }

    /// <summary>The model every scenario but serving by entity key serves, from prepare.py's fair-affairs set.</summary>
    public const string Fair = "fair";

    public const string FairLabel = "had_affair";

    /// <summary>A key with every role a person can hold, which the clients and the load send.</summary>
    public string Key { get; }

    public HttpClient Feature { get; }
    public HttpClient Training { get; }
    public HttpClient Registry { get; }
    public Uri InferenceUrl { get; }

    /// <summary>The inference service, reached directly as the load reaches it.</summary>
    public HttpClient Inference { get; }

    /// <summary>The inference service's process, for dotnet-trace and dotnet-counters (when Aspire reports it).</summary>
    public int? InferenceProcessId { get; private init; }

    /// <summary>
    /// The OpenTelemetry variables a deployment gives each service: the manifest that azd deploys sets only
    /// <c>OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY</c>, and the hosting platform adds the collector's endpoint and protocol
    /// and the service name. Everything else (sampler, batch and export intervals) is the services' own default.
    /// </summary>
    public static IReadOnlyDictionary<string, string> DeploymentTelemetry(Uri otlpEndpoint, string service) => new Dictionary<string, string>
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlpEndpoint.ToString().TrimEnd('/'),
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        ["OTEL_SERVICE_NAME"] = service,
        ["OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY"] = "in_memory",
    };

    /// <param name="otlpEndpoint">Where every service exports its telemetry.</param>
    /// <param name="inferenceEnvironment">More variables for the inference service (profiling: <c>DOTNET_PerfMapEnabled=1</c>).</param>
    public static async Task<Platform> StartAsync(Uri otlpEndpoint, IReadOnlyDictionary<string, string>? inferenceEnvironment = null)
    {
        var data = Directory.CreateTempSubdirectory("modelplatform-bench-");
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.ModelPlatform_AppHost>([$"Platform:DataDirectory={data.FullName}"]);
        // The AppHost's health probes log every refused connection while services start; only real errors matter here.
        builder.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None));
        // Telemetry as deployed: every service exports traces, metrics and logs over OTLP (to the benchmark's sink).
        // Aspire's run-mode settings for its dashboard (1-s export intervals, always_on sampling) are taken out first.
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            builder.CreateResourceBuilder(project).WithEnvironment(context =>
            {
                foreach (var key in context.EnvironmentVariables.Keys.Where(key => key.StartsWith("OTEL_", StringComparison.Ordinal)).ToList())
                {
                    context.EnvironmentVariables.Remove(key);
                }

                foreach (var (key, value) in DeploymentTelemetry(otlpEndpoint, project.Name))
                {
                    context.EnvironmentVariables[key] = value;
                }
            });
        }

        var inference = builder.CreateResourceBuilder(builder.Resources.OfType<ProjectResource>().Single(resource => resource.Name == "inference"));
        inference.WithEndpoint("http", endpoint => endpoint.IsProxied = false)
            .WithEnvironment("ASPNETCORE_ENVIRONMENT", "Production")
            // Callers without a key may predict, so one run measures /predict with and without authentication.
            .WithEnvironment("Identity__AnonymousRoles__0", "predictor");
        foreach (var (key, value) in inferenceEnvironment ?? new Dictionary<string, string>())
        {
            inference.WithEnvironment(key, value);
        }

        var app = await builder.BuildAsync();
        await app.StartAsync();
        foreach (var service in new[] { "identity", "feature", "training", "registry" })
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(service);
        }

        await app.ResourceNotifications.WaitForResourceHealthyAsync("inference");
        // Aspire reports the `dotnet run` that started the service; the service is the process of its own name.
        var processes = Process.GetProcessesByName("ModelPlatform.Inference");
        var benchKey = await CreateKeyAsync(app, data);
        return new Platform(app, data, benchKey) { InferenceProcessId = processes is [var process] ? process.Id : null };
    }

    /// <summary>prepare.py's fair-affairs file <paramref name="file"/> (train.csv or test.csv) under <paramref name="dataDir"/>.</summary>
    public static string FairData(string dataDir, string file) => Path.Combine(dataDir, "fair-affairs", file);

    private static Task<string> CreateKeyAsync(DistributedApplication app, DirectoryInfo data) => PlatformClients.CreateKeyAsync(app, data.FullName);

    private static HttpClient Client(DistributedApplication app, string service, string key) => PlatformClients.Client(app, service, key);

    /// <summary>Uploads the CSV, trains a model version with <paramref name="trainer"/>, and returns its version number.</summary>
    public async Task<int> TrainAsync(string model, string csvPath, string label, string trainer)
    {
        await UploadCsvAsync(model, await File.ReadAllTextAsync(csvPath));
        return await TrainAsync(new { modelName = model, dataset = model, label, task = "binary", trainer });
    }

    /// <summary>Trains a version of <see cref="Fair"/> with <paramref name="trainer"/> on fair-affairs' train.csv, and returns its number.</summary>
    public Task<int> TrainFairAsync(string dataDir, string trainer) => TrainAsync(Fair, FairData(dataDir, "train.csv"), FairLabel, trainer);

    /// <summary>Submits a training job (the body of POST /training-jobs), waits for it, and returns the model version it registered.</summary>
    public async Task<int> TrainAsync(object job) =>
        (await PlatformClients.TrainAsync(Training, job)).Job["modelVersion"]!.GetValue<int>();

    /// <summary>Appends <paramref name="csv"/> to the dataset as a new version.</summary>
    public async Task UploadCsvAsync(string dataset, string csv)
    {
        using var upload = await Feature.PostAsync($"/datasets/{dataset}/versions", new StringContent(csv, System.Text.Encoding.UTF8, "text/csv"));
        upload.EnsureSuccessStatusCode();
    }

    /// <summary>Uploads the CSV file as a new version of the dataset, streamed from disk (a large file never sits in memory).</summary>
    public async Task<DatasetVersionInfo> UploadCsvFileAsync(string dataset, string path)
    {
        await using var file = File.OpenRead(path);
        using var body = new StreamContent(file) { Headers = { ContentType = new("text/csv") } };
        using var upload = await Feature.PostAsync($"/datasets/{dataset}/versions", body);
        if (!upload.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"The upload of {path} was refused ({(int)upload.StatusCode}): {await upload.Content.ReadAsStringAsync()}");
        }

        return (await upload.Content.ReadFromJsonAsync<DatasetVersionInfo>(JsonSerializerOptions.Web))!;
    }

    /// <summary>The processes named <paramref name="name"/> that run the replicas of <paramref name="resource"/>, to read their memory.</summary>
    public Task<IReadOnlyList<ServiceProcess>> ProcessesAsync(string resource, string name) => ServiceProcess.FindAsync(_app, resource, name);

    /// <summary>
    /// Registers <paramref name="version"/>'s ONNX export as a version of <paramref name="model"/> (format onnx), read from the
    /// graph as any ONNX model is, the export's answer and classes named; returns the version registered.
    /// </summary>
    public async Task<ModelVersionInfo> RegisterExportAsync(ModelVersionInfo version, string model)
    {
        var binding = version.OnnxExport?.Binding
            ?? throw new InvalidOperationException($"{version.ModelName} v{version.Version} has no ONNX export: {version.OnnxExport?.Reason}");
        var graph = await Registry.GetByteArrayAsync($"/models/{version.ModelName}/versions/{version.Version}/onnx");
        var metadata = new
        {
            format = ModelFormats.Onnx,
            lineage = version.Lineage with { TrainingJobId = null, Trainer = "ML.NET export" },
            onnx = new OnnxRegistration(Output: binding.Output, Task: version.Signature.Task, Classes: version.Signature.Classes,
                Label: version.Signature.Label.Name),
        };
        using var form = new MultipartFormDataContent
        {
            { JsonContent.Create(metadata, options: JsonSerializerOptions.Web), "metadata" },
            { new ByteArrayContent(graph), "artifact", $"{model}.onnx" },
        };
        using var response = await Registry.PostAsync($"/models/{model}/versions", form);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<ModelVersionInfo>(JsonSerializerOptions.Web))!;
    }

    public async Task PromoteAsync(string model, int version)
    {
        using var response = await Registry.PutAsJsonAsync($"/models/{model}/aliases/production", new { version });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Waits until the inference service has loaded the model's production version.</summary>
    public async Task WaitUntilReadyAsync(string model)
    {
        while (!(await Inference.GetAsync($"/v2/models/{model}/ready")).IsSuccessStatusCode)
        {
            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            _data.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class Paths
{
    public static string Root { get; } = FindRoot();

    public static string WrkScript => Path.Combine(Root, "bench", "inference", "wrk.lua");

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "ModelPlatform.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Run the benchmark from inside the repository.");
    }
}
