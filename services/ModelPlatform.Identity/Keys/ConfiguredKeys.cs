using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;

namespace ModelPlatform.Identity.Keys;

/// <summary>Stores the keys the platform's configuration defines before the service takes requests.</summary>
internal sealed class ConfiguredKeys(ApiKeyStore store, IOptions<ApiKeysOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.EnsureConfiguredKeyAsync(ApiKeyStore.AdminKeyId, "admin", [PlatformRoles.Admin], options.Value.AdminKey, cancellationToken);
        foreach (var (service, key) in options.Value.ServiceKeys)
        {
            if (key.Length < ApiKeySecrets.MinLength)
            {
                throw new OptionsValidationException(nameof(ApiKeysOptions), typeof(ApiKeysOptions),
                    [$"The key of service '{service}' must be at least {ApiKeySecrets.MinLength} characters."]);
            }

            await store.EnsureConfiguredKeyAsync(
                ApiKeyStore.ServiceKeyId(service), service, [PlatformRoles.Service, service], key, cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
