using ModelPlatform.Feature.Datasets;
using ModelPlatform.Storage;

namespace ModelPlatform.Feature;

internal static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase("featuredb", DatasetStore.Migrations);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<DatasetStore>();
        builder.Services.AddSweeper<DatasetStore>("dataset uploads whose writer stopped", (store, ct) => store.DiscardAbandonedUploadsAsync(ct));
        builder.Services.AddOptions<FeatureOptions>()
            .BindConfiguration(nameof(FeatureOptions))
            .ValidateDataAnnotations()
            .ValidateOnStart();
    }
}
