using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ModelPlatform.Storage;

public static class StorageExtensions
{
    /// <summary>
    /// Registers the service's database (brought up to date with <paramref name="migrations"/>) under the configured
    /// <see cref="StorageOptions.DataDirectory"/>, with a readiness health check.
    /// </summary>
    public static IHostApplicationBuilder AddServiceDatabase(this IHostApplicationBuilder builder, IReadOnlyList<string> migrations)
    {
        builder.Services.AddOptions<StorageOptions>()
            .BindConfiguration("Storage")
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(services =>
        {
            var options = services.GetRequiredService<IOptions<StorageOptions>>().Value;
            var directory = Path.GetFullPath(options.DataDirectory, builder.Environment.ContentRootPath);
            return new ServiceDatabase(directory, migrations);
        });
        builder.Services.AddHealthChecks().AddCheck<ServiceDatabase>("database");
        return builder;
    }
}
