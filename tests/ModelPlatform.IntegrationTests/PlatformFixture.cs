using System.Globalization;
using System.Text;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace ModelPlatform.IntegrationTests;

/// <summary>
/// Starts the real AppHost once for the collection: real Redis and RabbitMQ servers (local executables
/// here, containers where Docker runs) and the four services, with all data in a temporary folder.
/// </summary>
public class PlatformFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);
    public const int MaxRecordsPerRequest = 500;
    public const int MaxJsonBytes = 1 << 20;
    public static readonly string[] Services = ["identity", "feature", "training", "registry", "inference", "gateway", "console"];

    /// <summary>The services' launch profile under test: TLS, as a deployment serves.</summary>
    public const string LaunchProfile = "https";

    /// <summary>How long each replica trusts an answer about a key here, so revocation tests are quick.</summary>
    public const int KeyCacheSeconds = 1;
    private static readonly string[] Servers = ["redis", "rabbitmq", "postgres"];

    /// <summary>
    /// The one model whose predictions the inference service caches (an opt-in by name). The name is new for each
    /// platform, so no other test, and no earlier run against a shared Redis, holds versions or cache entries of it.
    /// </summary>
    public string CachedModel { get; } = PlatformSteps.UniqueName("cached-iris");

    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("modelplatform-tests-");

    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<string, ResourceEvent> _latest = [];
    private Task _logCapture = Task.CompletedTask;

    public DistributedApplication App { get; private set; } = null!;

    /// <summary>The first admin key, read where the AppHost keeps it for scripts (<c>secrets/admin-api-key</c> in the data folder).</summary>
    public string AdminKey { get; private set; } = "";

    /// <summary>A key with every user role (reader, predictor, scientist, deployer and admin), which the clients below send.</summary>
    public string Key { get; private set; } = "";

    /// <summary>
    /// How far ahead of the real clock the training service's pipelines go (their schedules' ticks, debounces and soaks): the
    /// test clock. A replica reads it when it starts (<see cref="RestartAsync"/>).
    /// </summary>
    public TimeSpan PipelineClockOffset { get; set; }

    /// <summary>The platform's data folder, where the AppHost keeps generated secrets.</summary>
    public string DataDirectory => _data.FullName;

    public HttpClient Identity { get; private set; } = null!;
    public HttpClient Feature { get; private set; } = null!;
    public HttpClient Training { get; private set; } = null!;
    public HttpClient Registry { get; private set; } = null!;
    public HttpClient Inference { get; private set; } = null!;

    /// <summary>The public entry point: every service's API under its name (<c>/registry/models</c>).</summary>
    public HttpClient Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        // The https launch profile: every service listens on TLS as well, and the services call one another over it.
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.ModelPlatform_AppHost>(
            [$"Platform:DataDirectory={_data.FullName}", $"AppHost:DefaultLaunchProfileName={LaunchProfile}", .. AppHostArguments], timeout.Token);
        builder.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        // A request that asks before sending its body (Expect: 100-continue) waits for the server's answer however busy the
        // machine is, rather than sending the body after a second and racing a refusal that closes the connection.
        builder.Services.ConfigureHttpClientDefaults(http => http.ConfigurePrimaryHttpMessageHandler(
            () => new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromMinutes(1) }));
        // Short retry delays and leases keep the failure tests quick; the behaviour is the same as with the defaults.
        Project("training").WithEnvironment("EventBus__RetryDelaySeconds", "1")
            .WithEnvironment("TrainingOptions__LeaseSeconds", "4")
            // Pipelines look for what is due every second; their clock is the test's to move, read at each start of a replica.
            .WithEnvironment("PipelineOptions__CheckSeconds", "1")
            .WithEnvironment(context => context.EnvironmentVariables["PipelineOptions__ClockOffsetSeconds"] =
                PipelineClockOffset.TotalSeconds.ToString(CultureInfo.InvariantCulture));
        // A scheduled view materializes within a second of being due, rather than within the default check period.
        Project("feature").WithEnvironment("FeatureOptions__MaterializationCheckSeconds", "1");
        // No dashboard runs under test, so nothing listens for telemetry: without an exporter, a stopping service does
        // not spend 10 s retrying its last export, and stops within the orchestrator's grace period.
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            builder.CreateResourceBuilder(project).WithEnvironment("OTEL_EXPORTER_OTLP_ENDPOINT", "")
                .WithEnvironment("Identity__CacheSeconds", KeyCacheSeconds.ToString(CultureInfo.InvariantCulture));
        }

        // Small limits make the limit tests cheap; one model opts in to the prediction cache.
        Project("inference")
            .WithEnvironment("InferenceOptions__MaxRecordsPerRequest", MaxRecordsPerRequest.ToString(CultureInfo.InvariantCulture))
            .WithEnvironment("InferenceOptions__MaxJsonBytes", MaxJsonBytes.ToString(CultureInfo.InvariantCulture))
            .WithEnvironment($"InferenceOptions__PredictionCacheSeconds__{CachedModel}", "600");

        Configure(builder, Project);
        App = await builder.BuildAsync(timeout.Token);
        _logCapture = CaptureResourceLogsAsync(_stopping.Token);
        await App.StartAsync(timeout.Token);
        foreach (var service in Services)
        {
            await App.ResourceNotifications.WaitForResourceHealthyAsync(service, timeout.Token);
        }

        AdminKey = (await File.ReadAllTextAsync(Path.Combine(_data.FullName, "secrets", "admin-api-key"), timeout.Token)).Trim();
        Identity = Client("identity", AdminKey);
        Key = await this.CreateKeyAsync("tests", PlatformSteps.UserRoles);
        Feature = Client("feature", Key);
        Training = Client("training", Key);
        Registry = Client("registry", Key);
        Inference = Client("inference", Key);
        Gateway = Client("gateway", Key);

        IResourceBuilder<ProjectResource> Project(string name) =>
            builder.CreateResourceBuilder(builder.Resources.OfType<ProjectResource>().Single(project => project.Name == name));
    }

    /// <summary>What this platform is, for the folder of its logs.</summary>
    protected virtual string Name => "sqlite";

    /// <summary>Settings for the AppHost beyond the data folder and the launch profile.</summary>
    protected virtual string[] AppHostArguments => [];

    /// <summary>Changes to the app model before it starts, given a way to find each service's project.</summary>
    protected virtual void Configure(IDistributedApplicationTestingBuilder builder, Func<string, IResourceBuilder<ProjectResource>> project)
    {
    }

    /// <summary>A client of <paramref name="service"/> that sends <paramref name="key"/>.</summary>
    public HttpClient Client(string service, string key)
    {
        var client = App.CreateHttpClient(service, "https");
        client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return client;
    }

    /// <summary>Where every resource's console output goes (one file per replica), to read after a failed run.</summary>
    public string LogDirectory => Path.Combine(AppContext.BaseDirectory, "resource-logs", Name);

    /// <summary>Copies every resource's console output to a file and keeps each one's latest state.</summary>
    private async Task CaptureResourceLogsAsync(CancellationToken cancellationToken)
    {
        if (Directory.Exists(LogDirectory))
        {
            Directory.Delete(LogDirectory, recursive: true);
        }

        Directory.CreateDirectory(LogDirectory);
        var loggers = App.Services.GetRequiredService<ResourceLoggerService>();
        var watching = new Dictionary<string, Task>();
        try
        {
            await foreach (var update in App.ResourceNotifications.WatchAsync(cancellationToken))
            {
                lock (_latest)
                {
                    _latest[update.ResourceId] = update;
                }

                if (!watching.ContainsKey(update.ResourceId))
                {
                    watching[update.ResourceId] = CopyLogAsync(loggers, update.ResourceId, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        await Task.WhenAll(watching.Values);
    }

    private async Task CopyLogAsync(ResourceLoggerService loggers, string resourceId, CancellationToken cancellationToken)
    {
        await using var file = new StreamWriter(Path.Combine(LogDirectory, resourceId + ".log"), append: false)
        {
            AutoFlush = true,
        };
        try
        {
            await foreach (var batch in loggers.WatchAsync(resourceId).WithCancellation(cancellationToken))
            {
                foreach (var line in batch)
                {
                    await file.WriteLineAsync(line.Content);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public static readonly TimeSpan RecoveryTimeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Starts every resource (each replica) an earlier test stopped or that did not come back, and waits until all
    /// of them report healthy. Test classes call it before each test, so one bad restart cannot fail the tests after it.
    /// </summary>
    public async Task EnsureEverythingRunsAsync()
    {
        foreach (var (id, update) in LatestStates())
        {
            if (update.Snapshot.State?.Text is "Exited" or "Finished" or "FailedToStart")
            {
                await App.ResourceCommands.ExecuteCommandAsync(id, KnownResourceCommands.StartCommand);
            }
        }

        foreach (var (id, update) in LatestStates())
        {
            try
            {
                // Waits go by resource name; a replica is told apart by its id.
                await App.ResourceNotifications.WaitForResourceAsync(update.Resource.Name, candidate =>
                        candidate.ResourceId == id && candidate.Snapshot.HealthStatus == HealthStatus.Healthy)
                    .WaitAsync(RecoveryTimeout);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"{id} was not healthy within {RecoveryTimeout}.\n{Describe(update.Resource.Name)}");
            }
        }

        // To the orchestrator, healthy means /health answered 200, as it does while a service is still reconnecting to a
        // restarted dependency (inference answers "Degraded" until its Redis connection is back, and skips its caches
        // meanwhile). A test must not inherit that, so wait for each service's own "Healthy".
        foreach (var (service, client) in new[]
                 {
                     ("identity", Identity), ("feature", Feature), ("training", Training), ("registry", Registry), ("inference", Inference),
                     ("gateway", Gateway),
                 })
        {
            await this.WaitUntilAsync($"{service}'s /health to say Healthy", async () =>
            {
                try
                {
                    using var response = await client.GetAsync("/health");
                    return $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                }
                catch (HttpRequestException ex)
                {
                    return ex.Message;
                }
            }, health => health == "200 Healthy", RecoveryTimeout, [service]);
        }

        await WaitForTrainingConsumersAsync();
    }

    /// <summary>The queues the training replicas consume: interactive jobs', and the background lane's.</summary>
    private static readonly string[] TrainingQueues = ["training", "training.background"];

    /// <summary>
    /// Waits until each training replica consumes the job queue and its background lane. A replica's health says its
    /// RabbitMQ connection is back after a broker restart, not that its consumers are; the job tests count on both replicas
    /// taking jobs of either priority.
    /// </summary>
    private async Task WaitForTrainingConsumersAsync()
    {
        var replicas = LatestStates().Values.Count(update => update.Resource.Name == "training");
        var factory = new ConnectionFactory { Uri = new(await ConnectionStringAsync("rabbitmq")) };
        await using var connection = await factory.CreateConnectionAsync();
        foreach (var queue in TrainingQueues)
        {
            await this.WaitUntilAsync($"{replicas} consumers on the {queue} queue, one per replica", async () =>
            {
                await using var channel = await connection.CreateChannelAsync();
                return (await channel.QueueDeclarePassiveAsync(queue)).ConsumerCount;
            }, consumers => consumers == replicas, RecoveryTimeout, ["training"]);
        }
    }

    /// <summary>
    /// Stops <paramref name="resource"/>, runs <paramref name="whileStopped"/>, then starts it again and waits until
    /// everything is healthy.
    /// </summary>
    public Task WhileStoppedAsync(string resource, Func<Task> whileStopped) =>
        WhileStoppedAsync(resource, async () =>
        {
            await whileStopped();
            return true;
        });

    /// <inheritdoc cref="WhileStoppedAsync(string, Func{Task})"/>
    public async Task<T> WhileStoppedAsync<T>(string resource, Func<Task<T>> whileStopped)
    {
        await App.ResourceCommands.ExecuteCommandAsync(resource, KnownResourceCommands.StopCommand);
        try
        {
            await App.ResourceNotifications.WaitForResourceAsync(resource, update =>
                    update.Snapshot.State?.Text is "Exited" or "Finished" or "Stopped")
                .WaitAsync(RecoveryTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{resource} had not stopped {RecoveryTimeout} after its stop command.\n{Describe(resource)}");
        }

        try
        {
            return await whileStopped();
        }
        finally
        {
            await App.ResourceCommands.ExecuteCommandAsync(resource, KnownResourceCommands.StartCommand);
            await EnsureEverythingRunsAsync();
        }
    }

    /// <summary>
    /// Stops every replica of <paramref name="resource"/>, runs <paramref name="whileStopped"/>, starts them all again and
    /// waits until everything is healthy: as a platform that was down, all of it, for a while.
    /// </summary>
    public async Task RestartAsync(string resource, Action whileStopped)
    {
        var replicas = LatestStates().Where(pair => pair.Value.Resource.Name == resource).Select(pair => pair.Key).ToList();
        foreach (var replica in replicas)
        {
            await App.ResourceCommands.ExecuteCommandAsync(replica, KnownResourceCommands.StopCommand);
        }

        foreach (var replica in replicas)
        {
            await App.ResourceNotifications.WaitForResourceAsync(resource, update =>
                    update.ResourceId == replica && update.Snapshot.State?.Text is "Exited" or "Finished" or "Stopped")
                .WaitAsync(RecoveryTimeout);
        }

        whileStopped();
        foreach (var replica in replicas)
        {
            await App.ResourceCommands.ExecuteCommandAsync(replica, KnownResourceCommands.StartCommand);
        }

        await EnsureEverythingRunsAsync();
    }

    /// <summary>The latest state of every server and service (each replica by its id, not the replica set).</summary>
    public IReadOnlyDictionary<string, ResourceEvent> LatestStates()
    {
        lock (_latest)
        {
            return _latest.Values
                .Where(update => Services.Contains(update.Resource.Name) || Servers.Contains(update.Resource.Name))
                .Where(update => update.ResourceId != update.Resource.Name)
                .ToDictionary(update => update.ResourceId);
        }
    }

    /// <summary>
    /// The platform's state for a failure message: every server's and service's replica with its state and health,
    /// then the last lines of each replica of <paramref name="logsOf"/> (resource names, such as "training").
    /// </summary>
    public string Describe(params string[] logsOf)
    {
        var states = LatestStates().OrderBy(pair => pair.Key, StringComparer.Ordinal).ToList();
        var text = new StringBuilder("Platform: ").AppendJoin(", ", states.Select(pair =>
            $"{pair.Key} {pair.Value.Snapshot.State?.Text ?? "(no state)"} ({pair.Value.Snapshot.HealthStatus?.ToString() ?? "no health"})"));
        foreach (var (id, _) in states.Where(pair => logsOf.Contains(pair.Value.Resource.Name)))
        {
            text.Append($"\n--- the last lines of {id} ---\n{LogTail(id, 25)}");
        }

        return text.ToString();
    }

    /// <summary>How many lines of every replica of <paramref name="resource"/>'s output so far contain <paramref name="text"/>.</summary>
    public int CountLogLines(string resource, string text) =>
        LatestStates().Values.Where(update => update.Resource.Name == resource)
            .Sum(update => ReadLog(update.ResourceId).Count(line => line.Contains(text, StringComparison.Ordinal)));

    /// <summary>The last lines a resource wrote, for failure messages (CI shows the test output, not the resource logs).</summary>
    public string LogTail(string resourceId, int lines = 40)
    {
        var all = ReadLog(resourceId);
        return all.Length == 0 ? "(no log)" : string.Join('\n', all.TakeLast(lines));
    }

    private string[] ReadLog(string resourceId)
    {
        var path = Path.Combine(LogDirectory, resourceId + ".log");
        if (!File.Exists(path))
        {
            return [];
        }

        // The capture keeps writing the file while a test reads it.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public async Task<string> ConnectionStringAsync(string resource) =>
        await App.GetConnectionStringAsync(resource) ?? throw new InvalidOperationException($"{resource} has no connection string.");

    public virtual async Task DisposeAsync()
    {
        await App.StopAsync();
        await _stopping.CancelAsync();
        await _logCapture;
        await App.DisposeAsync();
        try
        {
            _data.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A server may still be flushing its files; the folder is under the temporary directory.
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PlatformCollection : ICollectionFixture<PlatformFixture>
{
    public const string Name = "Platform";
}
