using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ModelPlatform.Contracts;

namespace ModelPlatform.Training.Jobs;

/// <summary>Reads datasets from the feature service (<c>http://feature</c>, resolved by service discovery).</summary>
public sealed class FeatureClient(HttpClient http)
{
    private const int PageSize = 10_000;

    public async Task<DatasetVersionInfo?> GetVersionAsync(string dataset, int? version, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync($"/datasets/{Uri.EscapeDataString(dataset)}/versions/{version?.ToString() ?? "latest"}", cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<DatasetVersionInfo>(cancellationToken);
    }

    /// <summary>Every row of a version, read page by page; null when the version does not exist.</summary>
    public async Task<List<IReadOnlyDictionary<string, JsonElement>>?> GetRowsAsync(string dataset, int version, CancellationToken cancellationToken)
    {
        var rows = new List<IReadOnlyDictionary<string, JsonElement>>();
        while (true)
        {
            using var response = await http.GetAsync(
                $"/datasets/{Uri.EscapeDataString(dataset)}/versions/{version}/rows?offset={rows.Count}&limit={PageSize}", cancellationToken);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }

            response.EnsureSuccessStatusCode();
            var page = await response.Content.ReadFromJsonAsync<RowsPage>(cancellationToken)
                ?? throw new InvalidOperationException("The feature service returned an empty page.");
            rows.AddRange(page.Rows);
            if (page.Rows.Count < PageSize || rows.Count >= page.Total)
            {
                return rows;
            }
        }
    }

    private sealed record RowsPage(int Total, List<Dictionary<string, JsonElement>> Rows);
}

/// <summary>Registers trained models with the registry service (<c>http://registry</c>).</summary>
public sealed class RegistryClient(HttpClient http)
{
    public async Task<ModelVersionInfo> RegisterAsync(
        string modelName, RegisterModelVersionRequest metadata, byte[] artifact, CancellationToken cancellationToken)
    {
        using var form = new MultipartFormDataContent
        {
            // Bytes rather than a JSON stream, so the form knows its length and the upload gets time for all of it.
            { new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(metadata, JsonSerializerOptions.Web)), "metadata" },
        };
        var file = new ByteArrayContent(artifact);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        form.Add(file, "artifact", $"{modelName}.zip");

        using var response = await http.PostAsync($"/models/{Uri.EscapeDataString(modelName)}/versions", form, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var problem = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new HttpRequestException($"The registry refused the model ({(int)response.StatusCode}): {problem}", null, response.StatusCode);
        }

        return (await response.Content.ReadFromJsonAsync<ModelVersionInfo>(JsonSerializerOptions.Web, cancellationToken))!;
    }
}
