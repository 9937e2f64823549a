using ModelPlatform.Feature.Datasets;
using ModelPlatform.Storage;

namespace ModelPlatform.Feature;

public sealed class FeatureOptions
{
    /// <summary>The largest CSV upload accepted, in bytes (the whole upload is parsed in memory).</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 1L << 30)]
    public long MaxUploadBytes { get; set; } = 64L * 1024 * 1024;
}

internal static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase(DatasetStore.Migrations);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<DatasetStore>();
        builder.Services.AddOptions<FeatureOptions>()
            .BindConfiguration(nameof(FeatureOptions))
            .ValidateDataAnnotations()
            .ValidateOnStart();
    }
}
