using ModelPlatform.Contracts;
using ModelPlatform.Messaging;
using ModelPlatform.Storage;
using ModelPlatform.Training.Jobs;
using ModelPlatform.Training.Pipelines;

namespace ModelPlatform.Training;

internal static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase("trainingdb", TrainingJobStore.Migrations);
        builder.AddRabbitMQEventBus("rabbitmq")
            .AddSubscription<TrainingJobSubmitted, TrainingJobSubmittedHandler>()
            .AddSubscription<BatchPredictionSubmitted, BatchPredictionSubmittedHandler>()
            .AddSubscription<DatasetVersionCreated, DatasetVersionCreatedHandler>();

        builder.Services.AddOptions<TrainingOptions>()
            .BindConfiguration(nameof(TrainingOptions))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<TrainingJobStore>();
        builder.Services.AddSingleton<BatchPredictionStore>();
        builder.Services.AddSingleton<IQueuedJobs>(services => services.GetRequiredService<TrainingJobStore>());
        builder.Services.AddSingleton<IQueuedJobs>(services => services.GetRequiredService<BatchPredictionStore>());
        builder.Services.AddScoped<JobRunner>();
        builder.Services.AddSingleton<TrainingMetrics>();
        builder.Services.AddOutboxRelay();
        builder.Services.AddHostedService<StuckJobSweeper>();
        builder.Services.AddScoped<TrainingJobSubmitter>();

        // Pipelines: every replica looks for what is due and leases each run's next step, so none is a leader.
        builder.Services.AddOptions<PipelineOptions>()
            .BindConfiguration(nameof(PipelineOptions))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<PipelineClock>();
        builder.Services.AddSingleton(services => new PipelineStore(
            services.GetRequiredService<ServiceDatabase>(), services.GetRequiredService<PipelineClock>()));
        builder.Services.AddSingleton<PipelineMetrics>();
        builder.Services.AddSingleton<PipelineWakeUp>();
        builder.Services.AddScoped<PipelineRunner>();
        builder.Services.AddHostedService<PipelineScheduler>();

        // Service discovery resolves these names to the AppHost's feature, registry and inference resources.
        // Rows and artifacts are large. The registry deduplicates a registration by its training job id, so one that
        // timed out on the way back is safe to send again.
        builder.Services.AddHttpClient<FeatureClient>(http => http.BaseAddress = new("https+http://feature")).AddLargeTransferResilience();
        builder.Services.AddHttpClient<RegistryClient>(http => http.BaseAddress = new("https+http://registry"))
            .AddLargeTransferResilience(postsAreIdempotent: true);
        builder.Services.AddHttpClient<InferenceClient>(http => http.BaseAddress = new("https+http://inference"));
    }
}
