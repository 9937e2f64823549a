using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using ModelPlatform.Contracts;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Reads of the registry service that more than one service makes (inference serves versions, training scores batches with
/// them), over a client whose base address is the registry.
/// </summary>
public static class RegistryReads
{
    /// <summary>A version, or null when the model has no such version.</summary>
    public static Task<ModelVersionInfo?> GetModelVersionAsync(this HttpClient registry, string model, int version, CancellationToken cancellationToken) =>
        registry.GetOrNullAsync<ModelVersionInfo>($"/models/{Uri.EscapeDataString(model)}/versions/{version}", cancellationToken);

    /// <summary>Where an alias points, or null when the model has no such alias.</summary>
    public static Task<AliasInfo?> GetAliasAsync(this HttpClient registry, string model, string alias, CancellationToken cancellationToken) =>
        registry.GetOrNullAsync<AliasInfo>($"/models/{Uri.EscapeDataString(model)}/aliases/{Uri.EscapeDataString(alias)}", cancellationToken);

    /// <summary>
    /// Downloads a version's artifact and checks it against the SHA-256 the registry recorded at registration. The client
    /// should have the resilience of a large transfer (<see cref="LargeTransfers"/>): the request expects the recorded size.
    /// </summary>
    public static async Task<byte[]> GetArtifactAsync(this HttpClient registry, ModelVersionInfo version, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/models/{Uri.EscapeDataString(version.ModelName)}/versions/{version.Version}/artifact");
        request.Options.Set(LargeTransfers.ExpectedBytes, version.SizeBytes);
        using var response = await registry.SendAsync(request, cancellationToken);
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

    private static async Task<T?> GetOrNullAsync<T>(this HttpClient registry, string path, CancellationToken cancellationToken) where T : class
    {
        using var response = await registry.GetAsync(path, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<T>(JsonSerializerOptions.Web, cancellationToken);
    }
}
