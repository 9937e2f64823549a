using System.Net;
using System.Text.Json;
using ModelPlatform.Contracts;
using ModelPlatform.Features.Statistics;

namespace ModelPlatform.Inference.Serving;

/// <summary>Asks the feature service (<c>http://feature</c>), which holds the training sets, how a sample of inputs drifted from one.</summary>
public sealed class FeatureClient(HttpClient http)
{
    /// <summary>
    /// The drift of <paramref name="sample"/> from the same columns of a dataset version, by the feature service's tests and
    /// thresholds. Null drift when the version does not exist; the problems when the sample does not fit it.
    /// </summary>
    public async Task<(DatasetDrift? Drift, IDictionary<string, string[]>? Problems)> CompareSampleAsync(
        string dataset, int version, SampleDriftRequest sample, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(
            $"/datasets/{Uri.EscapeDataString(dataset)}/versions/{version}/drift", sample, JsonSerializerOptions.Web, cancellationToken);
        switch (response.StatusCode)
        {
            case HttpStatusCode.NotFound:
                return (null, null);
            case HttpStatusCode.BadRequest:
                var problem = await response.Content.ReadFromJsonAsync<HttpValidationProblemDetails>(cancellationToken);
                return (null, problem?.Errors ?? new Dictionary<string, string[]>());
            default:
                response.EnsureSuccessStatusCode();
                return (await response.Content.ReadFromJsonAsync<DatasetDrift>(JsonSerializerOptions.Web, cancellationToken), null);
        }
    }
}
