using ModelPlatform.Contracts;
using ModelPlatform.Messaging;
using ModelPlatform.Storage;
using ModelPlatform.Training.Jobs;

namespace ModelPlatform.Training;

internal static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase(TrainingJobStore.Migrations);
        builder.AddRabbitMQEventBus("rabbitmq")
            .AddSubscription<TrainingJobSubmitted, TrainingJobSubmittedHandler>();

        builder.Services.AddOptions<TrainingOptions>()
            .BindConfiguration(nameof(TrainingOptions))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<TrainingJobStore>();
        builder.Services.AddSingleton<TrainingMetrics>();
        builder.Services.AddSingleton<OutboxRelay>();
        builder.Services.AddHostedService(services => services.GetRequiredService<OutboxRelay>());

        // Service discovery resolves these names to the AppHost's feature and registry resources.
        builder.Services.AddHttpClient<FeatureClient>(http => http.BaseAddress = new("http://feature"));
        builder.Services.AddHttpClient<RegistryClient>(http => http.BaseAddress = new("http://registry"));
    }
}
