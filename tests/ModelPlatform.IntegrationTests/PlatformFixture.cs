using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ModelPlatform.IntegrationTests;

/// <summary>
/// Starts the real AppHost once for the collection: real Redis and RabbitMQ servers (local executables
/// here, containers where Docker runs) and the four services, with all data in a temporary folder.
/// </summary>
public sealed class PlatformFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);
    private static readonly string[] Services = ["feature", "training", "registry", "inference"];

    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("modelplatform-tests-");

    public DistributedApplication App { get; private set; } = null!;

    public HttpClient Feature { get; private set; } = null!;
    public HttpClient Training { get; private set; } = null!;
    public HttpClient Registry { get; private set; } = null!;
    public HttpClient Inference { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.ModelPlatform_AppHost>(
            [$"ModelPlatform:DataDirectory={_data.FullName}"], timeout.Token);
        builder.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        // Short retry delays and leases keep the failure tests quick; the behaviour is the same as with the defaults.
        var training = builder.CreateResourceBuilder(builder.Resources.OfType<ProjectResource>().Single(resource => resource.Name == "training"));
        training.WithEnvironment("EventBus__RetryDelaySeconds", "1")
            .WithEnvironment("TrainingWorkerOptions__LeaseSeconds", "4");

        App = await builder.BuildAsync(timeout.Token);
        await App.StartAsync(timeout.Token);
        foreach (var service in Services)
        {
            await App.ResourceNotifications.WaitForResourceHealthyAsync(service, timeout.Token);
        }

        Feature = App.CreateHttpClient("feature");
        Training = App.CreateHttpClient("training");
        Registry = App.CreateHttpClient("registry");
        Inference = App.CreateHttpClient("inference");
    }

    public async Task<string> ConnectionStringAsync(string resource) =>
        await App.GetConnectionStringAsync(resource) ?? throw new InvalidOperationException($"{resource} has no connection string.");

    public async Task DisposeAsync()
    {
        await App.StopAsync();
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
