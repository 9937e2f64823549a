using ModelPlatform.Messaging;
using ModelPlatform.Registry.Models;
using ModelPlatform.Storage;

namespace ModelPlatform.Registry;

internal static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase("registrydb", ModelStore.Migrations);
        builder.AddRabbitMQEventBus("rabbitmq");
        builder.Services.AddOutboxRelay();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<BlobStore>();
        builder.Services.AddSingleton<ModelStore>();
        builder.Services.AddSweeper<BlobStore>("artifact uploads whose writer stopped", (blobs, ct) => blobs.DeleteAbandonedAsync(ct));
        builder.Services.AddSweeper<ModelStore>("artifacts no version names", (store, ct) => store.DeleteUnreferencedArtifactsAsync(ct));
        builder.Services.AddHostedService<ArtifactFileImport>();
        builder.Services.AddOptions<RegistryOptions>()
            .BindConfiguration(nameof(RegistryOptions))
            .ValidateDataAnnotations()
            .ValidateOnStart();
    }
}
