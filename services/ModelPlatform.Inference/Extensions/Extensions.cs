using Microsoft.Extensions.Diagnostics.HealthChecks;
using ModelPlatform.Contracts;
using ModelPlatform.Features.Online;
using ModelPlatform.Inference.Serving;
using ModelPlatform.Messaging;
using StackExchange.Redis;

namespace ModelPlatform.Inference;

internal static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        // Redis is a cache here: when it is down the service answers without it, so its health check only degrades.
        builder.AddRedisClient("redis",
            settings => settings.DisableHealthChecks = true,
            options =>
            {
                options.AbortOnConnectFail = false;
                // Fail at once while disconnected instead of queueing commands until they time out.
                options.BacklogPolicy = BacklogPolicy.FailFast;
            });
        builder.Services.AddHealthChecks()
            .AddCheck<RedisCacheHealthCheck>("redis-cache")
            .AddCheck<ServingReadiness>("models");

        // Every replica must see every alias change, so each gets its own queue. While RabbitMQ is down it serves on
        // (aliases expire from their cache and are read again from the registry), so the outage only degrades it.
        builder.Services.Configure<EventBusOptions>(options => options.QueuePerInstance = true);
        builder.AddRabbitMQEventBus("rabbitmq", HealthStatus.Degraded)
            .AddSubscription<AliasChanged, AliasChangedHandler>();

        builder.Services.AddOptions<InferenceOptions>()
            .BindConfiguration(nameof(InferenceOptions))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<InferenceMetrics>();
        builder.Services.AddSingleton<RedisCache>();
        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.AddSingleton<LoadedModels>();
        builder.Services.AddSingleton<PredictionCache>();
        builder.Services.AddSingleton<ShadowTotals>();
        builder.Services.AddSingleton<ShadowTraffic>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ShadowTraffic>());
        builder.Services.AddSingleton<InputSample>();
        builder.Services.AddHostedService(services => services.GetRequiredService<InputSample>());
        builder.Services.AddSingleton<ServingDrift>();
        builder.Services.AddHostedService<DriftMonitor>();
        // Each replica counts what every version answers and adds it to the totals in Redis, for canary checks and alarms.
        builder.Services.AddSingleton<LiveTrafficTally>();
        builder.Services.AddSingleton<LiveTrafficTotals>();
        builder.Services.AddHostedService<LiveTrafficFlusher>();
        builder.Services.AddSingleton<Scoring>();
        // Models trained from a feature service read their features from the online store, in the same Redis.
        builder.Services.AddSingleton<OnlineStore>();
        builder.Services.AddSingleton<EntityFeatures>();
        builder.Services.AddSingleton<ServingReadiness>();
        builder.Services.AddHostedService<ModelPreloader>();
        builder.Services.AddHttpClient<RegistryClient>(http => http.BaseAddress = new("https+http://registry"));
        // Drift is measured against training data, which the feature service holds.
        builder.Services.AddHttpClient<FeatureClient>(http => http.BaseAddress = new("https+http://feature"));
        builder.Services.AddHttpClient<ArtifactClient>(http => http.BaseAddress = new("https+http://registry")).AddLargeTransferResilience();
    }
}
