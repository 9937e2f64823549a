using System.Text.Json;
using ModelPlatform.Contracts;

namespace ModelPlatform.Feature.Definitions;

/// <summary>Asks the registry (<c>http://registry</c>, by service discovery) which model versions were trained from feature services.</summary>
public sealed class RegistryClient(HttpClient http)
{
    public async Task<IReadOnlyList<ModelVersionInfo>> GetVersionsUsingFeaturesAsync(CancellationToken cancellationToken) =>
        await http.GetFromJsonAsync<List<ModelVersionInfo>>("/model-versions", JsonSerializerOptions.Web, cancellationToken) ?? [];
}
