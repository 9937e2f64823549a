using System.ComponentModel.DataAnnotations;
using ModelPlatform.Messaging;
using ModelPlatform.Registry.Models;
using ModelPlatform.Storage;

namespace ModelPlatform.Registry;

public sealed class RegistryOptions
{
    /// <summary>The largest model artifact accepted, in bytes.</summary>
    [Range(1, 4L << 30)]
    public long MaxArtifactBytes { get; set; } = 256L * 1024 * 1024;
}

internal static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase(ModelStore.Migrations);
        builder.AddRabbitMQEventBus("rabbitmq");
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ModelStore>();
        builder.Services.AddOptions<RegistryOptions>()
            .BindConfiguration(nameof(RegistryOptions))
            .ValidateDataAnnotations()
            .ValidateOnStart();
    }
}
