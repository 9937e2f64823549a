using System.Net;
using System.Security.Cryptography;
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
        GetOrNullAsync<AliasInfo>($"/models/{Uri.EscapeDataString(model)}/aliases/{Uri.EscapeDataString(alias)}", cancellationToken);

    public Task<ModelVersionInfo?> GetVersionAsync(string model, int version, CancellationToken cancellationToken) =>
        GetOrNullAsync<ModelVersionInfo>($"/models/{Uri.EscapeDataString(model)}/versions/{version}", cancellationToken);

    private async Task<T?> GetOrNullAsync<T>(string path, CancellationToken cancellationToken) where T : class
    {
        using var response = await http.GetAsync(path, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<T>(JsonSerializerOptions.Web, cancellationToken);
    }
}

/// <summary>Downloads model artifacts from the registry, with the timeouts of a large transfer (loaded in the background).</summary>
public sealed class ArtifactClient(HttpClient http)
{
    /// <summary>Downloads an artifact and checks it against the SHA-256 the registry recorded at registration.</summary>
    public async Task<byte[]> GetArtifactAsync(ModelVersionInfo version, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/models/{Uri.EscapeDataString(version.ModelName)}/versions/{version.Version}/artifact");
        // The registry recorded the artifact's size: the download gets time for that many bytes.
        request.Options.Set(LargeTransfers.ExpectedBytes, version.SizeBytes);
        using var response = await http.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        var artifact = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var actual = Convert.ToHexStringLower(SHA256.HashData(artifact));
        if (!string.Equals(actual, version.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException(
                $"The artifact of {version.ModelName} v{version.Version} has SHA-256 {actual}, but the registry recorded {version.Sha256}.");
        }

        return artifact;
    }
}
