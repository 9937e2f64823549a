using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ModelPlatform.Storage;

public static class StorageExtensions
{
    /// <summary>
    /// Registers the service's database (created with <paramref name="schemaSql"/>) under the configured
    /// <see cref="StorageOptions.DataDirectory"/>, with a readiness health check.
    /// </summary>
    public static IHostApplicationBuilder AddServiceDatabase(this IHostApplicationBuilder builder, string schemaSql)
    {
        builder.Services.AddOptions<StorageOptions>()
            .BindConfiguration("Storage")
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(services =>
        {
            var options = services.GetRequiredService<IOptions<StorageOptions>>().Value;
            var directory = Path.GetFullPath(options.DataDirectory, builder.Environment.ContentRootPath);
            return new ServiceDatabase(directory, schemaSql);
        });
        builder.Services.AddHealthChecks().AddCheck<ServiceDatabase>("database");
        return builder;
    }
}
