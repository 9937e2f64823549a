using Microsoft.Extensions.Diagnostics.HealthChecks;
using ModelPlatform.Feature.Datasets;
using ModelPlatform.Feature.Definitions;
using ModelPlatform.Feature.Offline;
using ModelPlatform.Feature.Online;
using ModelPlatform.Features.Online;
using ModelPlatform.Messaging;
using ModelPlatform.Storage;

namespace ModelPlatform.Feature;

internal static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase("featuredb", DatasetStore.Migrations);
        // Each new dataset version is announced (DatasetVersionCreated) through the outbox. While RabbitMQ is down uploads are
        // still stored and their events wait, so the outage only degrades the service. It subscribes to nothing: no queue.
        builder.AddRabbitMQEventBus("rabbitmq", HealthStatus.Degraded);
        builder.Services.AddOutboxRelay();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<BlobStore>();
        builder.Services.AddSingleton<DatasetFiles>();
        builder.Services.AddSingleton<DatasetStore>();
        builder.Services.AddSingleton<DefinitionStore>();
        builder.Services.AddSingleton<TrainingSets>();
        // Which models use which features, before a definition change could break them.
        builder.Services.AddHttpClient<RegistryClient>(http => http.BaseAddress = new("https+http://registry"));
        // The online store: the latest value per entity of each view, in Redis.
        builder.AddRedisClient("redis");
        builder.Services.AddSingleton<OnlineStore>();
        builder.Services.AddSingleton<Materialization>();
        // Views with a schedule materialize on their own: every replica looks, and a lease lets one run each view.
        builder.Services.AddSingleton<MaterializationLeases>();
        builder.Services.AddHostedService<MaterializationScheduler>();
        // Versions an earlier release stored as rows become files before the service takes requests.
        builder.Services.AddHostedService<StoredRowsImport>();
        builder.Services.AddSweeper<DatasetStore>("dataset uploads whose writer stopped", (store, ct) => store.DiscardAbandonedUploadsAsync(ct));
        builder.Services.AddSweeper<DatasetStore>("dataset files no version names", (store, ct) => store.DeleteUnreferencedFilesAsync(ct));
        builder.Services.AddSweeper<BlobStore>("dataset file writes whose writer stopped", (blobs, ct) => blobs.DeleteAbandonedAsync(ct));
        builder.Services.AddOptions<FeatureOptions>()
            .BindConfiguration(nameof(FeatureOptions))
            .ValidateDataAnnotations()
            .ValidateOnStart();
    }
}
