using ModelPlatform.Contracts;

namespace ModelPlatform.Identity.Keys;

internal sealed class LocalApiKeyValidator(ApiKeyStore store) : IApiKeyValidator
{
    public Task<ApiKeyIntrospection> IntrospectAsync(string key, CancellationToken cancellationToken) =>
        store.IntrospectAsync(key, cancellationToken);
}
