using ModelPlatform.Identity.Keys;
using ModelPlatform.Storage;

namespace ModelPlatform.Identity;

internal static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase("identitydb", ApiKeyStore.Migrations);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ApiKeyStore>();
        // This service owns the keys, so it checks them in its own store rather than asking itself over HTTP.
        builder.Services.AddSingleton<IApiKeyValidator, LocalApiKeyValidator>();
        builder.Services.AddOptions<ApiKeysOptions>()
            .BindConfiguration(nameof(ApiKeysOptions))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddHostedService<ConfiguredKeys>();
    }
}
