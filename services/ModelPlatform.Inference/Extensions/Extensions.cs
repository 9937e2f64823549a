using System.ComponentModel.DataAnnotations;
using ModelPlatform.Contracts;
using ModelPlatform.Inference.Serving;
using ModelPlatform.Messaging;

namespace ModelPlatform.Inference;

public sealed class InferenceOptions
{
    /// <summary>How long a resolved alias is trusted without an event confirming it, in seconds.</summary>
    [Range(1, 86_400)]
    public int AliasCacheSeconds { get; set; } = 300;

    /// <summary>The most records one predict request may carry.</summary>
    [Range(1, 1_000_000)]
    public int MaxRecordsPerRequest { get; set; } = 10_000;
}

internal static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddRedisClient("redis");
        // Every replica must see every alias change, so each gets its own queue.
        builder.Services.Configure<EventBusOptions>(options => options.QueuePerInstance = true);
        builder.AddRabbitMQEventBus("rabbitmq")
            .AddSubscription<AliasChanged, AliasChangedHandler>();

        builder.Services.AddOptions<InferenceOptions>()
            .BindConfiguration(nameof(InferenceOptions))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<InferenceMetrics>();
        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.AddSingleton<LoadedModels>();
        builder.Services.AddHttpClient<RegistryClient>(http => http.BaseAddress = new("http://registry"));
    }
}
