using System.Text.Json;
using ModelPlatform.Contracts;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// Reads model metadata from the registry service (<c>http://registry</c>). These small reads sit on the prediction path
/// when a cache misses, so they keep the standard handler's short timeouts; artifacts come through <see cref="ArtifactClient"/>.
/// </summary>
public sealed class RegistryClient(HttpClient http)
{
    public Task<IReadOnlyList<ModelInfo>?> ListModelsAsync(CancellationToken cancellationToken) =>
        http.GetFromJsonAsync<IReadOnlyList<ModelInfo>>("/models", JsonSerializerOptions.Web, cancellationToken);

    public Task<AliasInfo?> GetAliasAsync(string model, string alias, CancellationToken cancellationToken) =>
        http.GetAliasAsync(model, alias, cancellationToken);

    public Task<ModelVersionInfo?> GetVersionAsync(string model, int version, CancellationToken cancellationToken) =>
        http.GetModelVersionAsync(model, version, cancellationToken);
}

/// <summary>Downloads model artifacts from the registry, with the timeouts of a large transfer (loaded in the background).</summary>
public sealed class ArtifactClient(HttpClient http)
{
    /// <summary>Downloads an artifact and checks it against the SHA-256 the registry recorded at registration.</summary>
    public Task<byte[]> GetArtifactAsync(ModelVersionInfo version, CancellationToken cancellationToken) => http.GetArtifactAsync(version, cancellationToken);
}
