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
        builder.Services.AddSingleton<ModelStore>();
        builder.Services.AddOptions<RegistryOptions>()
            .BindConfiguration(nameof(RegistryOptions))
            .ValidateDataAnnotations()
            .ValidateOnStart();
    }
}
