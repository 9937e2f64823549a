using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using ModelPlatform.Contracts;
using ModelPlatform.ML;

namespace ModelPlatform.Training.Jobs;

/// <summary>Reads datasets from the feature service (<c>http://feature</c>, resolved by service discovery).</summary>
public sealed class FeatureClient(HttpClient http)
{
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

    /// <summary>
    /// Has the feature service join <paramref name="featureService"/>'s features onto a version of entity rows as of each
    /// row's time, into a new version of a training-set dataset. Answers that version, or the problems the feature service
    /// named (a 400), keyed by its field names.
    /// </summary>
    public async Task<(DatasetVersionInfo? TrainingSet, IDictionary<string, string[]>? Problems)> BuildTrainingSetAsync(
        string featureService, DatasetVersionInfo entityRows, string timestampField, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/feature-services/{Uri.EscapeDataString(featureService)}/training-sets")
        {
            Content = JsonContent.Create(new { entityDataset = entityRows.Name, entityDatasetVersion = entityRows.Version, timestampField }),
        };
        // The join takes time in proportion to the set it writes: give the request the time to move that set, at up to a
        // kilobyte a row.
        request.Options.Set(LargeTransfers.ExpectedBytes, entityRows.Rows * 1024L);
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.BadRequest)
        {
            var problem = await response.Content.ReadFromJsonAsync<HttpValidationProblemDetails>(cancellationToken);
            return (null, problem?.Errors);
        }

        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<DatasetVersionInfo>(cancellationToken), null);
    }

    /// <summary>
    /// A version's rows, column by column, from its Parquet file (checked against the SHA-256 the feature service names it
    /// by); null when the version does not exist.
    /// </summary>
    public async Task<IReadOnlyList<TableColumn>?> GetTableAsync(
        string dataset, int version, IReadOnlyList<ColumnSchema> columns, CancellationToken cancellationToken)
    {
        await using var file = await DownloadAsync(dataset, version, cancellationToken);
        return file is null ? null : await ParquetTable.ReadAsync(file, columns, cancellationToken);
    }

    /// <summary>
    /// A version's Parquet file, in a temporary file deleted when closed, checked against the SHA-256 the feature service names
    /// it by; null when the version does not exist. Parquet is read from its footer back: the file goes to disk first.
    /// </summary>
    public async Task<FileStream?> DownloadAsync(string dataset, int version, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(
            $"/datasets/{Uri.EscapeDataString(dataset)}/versions/{version}/data", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        var expected = response.Headers.ETag?.Tag.Trim('"')
            ?? throw new InvalidDataException("The feature service named no SHA-256 (ETag) for the dataset file.");
        var file = TemporaryFile();
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new byte[1 << 16];
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }

            if (!string.Equals(Convert.ToHexStringLower(hash.GetHashAndReset()), expected, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidDataException($"The file of {dataset} v{version} does not match its SHA-256 {expected}.");
            }

            file.Position = 0;
            return file;
        }
        catch
        {
            await file.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Stores a Parquet file of predictions as the next version of <paramref name="dataset"/>, with what it was scored from.
    /// The feature service answers a job's upload sent again with the version it made, so a retry never stores two.
    /// </summary>
    public async Task<DatasetVersionInfo> UploadPredictionsAsync(
        string dataset, IReadOnlyList<ColumnSchema> columns, PredictionLineage lineage, Stream file, CancellationToken cancellationToken)
    {
        using var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(new DatasetVersionImport(columns, lineage), JsonSerializerOptions.Web)), "metadata" },
        };
        var data = new StreamContent(file);
        data.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.apache.parquet");
        form.Add(data, "data", $"{dataset}.parquet");
        using var response = await http.PostAsync($"/datasets/{Uri.EscapeDataString(dataset)}/versions", form, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var problem = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new HttpRequestException($"The feature service refused the predictions ({(int)response.StatusCode}): {problem}", null, response.StatusCode);
        }

        return (await response.Content.ReadFromJsonAsync<DatasetVersionInfo>(JsonSerializerOptions.Web, cancellationToken))!;
    }

    /// <summary>A scratch file of this process, deleted when closed.</summary>
    public static FileStream TemporaryFile() => new(
        Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
}

/// <summary>Registers trained models with the registry service (<c>http://registry</c>), and reads the versions batch predictions score with.</summary>
public sealed class RegistryClient(HttpClient http)
{
    public async Task<ModelVersionInfo> RegisterAsync(
        string modelName, RegisterModelVersionRequest metadata, byte[] artifact, byte[]? onnxExport, CancellationToken cancellationToken)
    {
        using var form = new MultipartFormDataContent
        {
            // Bytes rather than a JSON stream, so the form knows its length and the upload gets time for all of it.
            { new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(metadata, JsonSerializerOptions.Web)), "metadata" },
        };
        var file = new ByteArrayContent(artifact);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        form.Add(file, "artifact", $"{modelName}.zip");
        if (onnxExport is not null)
        {
            var export = new ByteArrayContent(onnxExport);
            export.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(export, "onnx", $"{modelName}.onnx");
        }

        using var response = await http.PostAsync($"/models/{Uri.EscapeDataString(modelName)}/versions", form, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var problem = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new HttpRequestException($"The registry refused the model ({(int)response.StatusCode}): {problem}", null, response.StatusCode);
        }

        return (await response.Content.ReadFromJsonAsync<ModelVersionInfo>(JsonSerializerOptions.Web, cancellationToken))!;
    }

    /// <summary>A version, or null when the model has no such version.</summary>
    public Task<ModelVersionInfo?> GetVersionAsync(string model, int version, CancellationToken cancellationToken) =>
        http.GetModelVersionAsync(model, version, cancellationToken);

    /// <summary>Where an alias points, or null when the model has no such alias.</summary>
    public Task<AliasInfo?> GetAliasAsync(string model, string alias, CancellationToken cancellationToken) =>
        http.GetAliasAsync(model, alias, cancellationToken);

    /// <summary>
    /// Moves an alias for a pipeline: the registry audits the move under the pipeline's identity (<see cref="PipelineCalls.Header"/>),
    /// which only the training service may claim.
    /// </summary>
    public async Task<AliasInfo> SetAliasAsync(string model, string alias, SetAliasRequest route, string pipeline, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/models/{Uri.EscapeDataString(model)}/aliases/{Uri.EscapeDataString(alias)}")
        {
            Content = JsonContent.Create(route, options: JsonSerializerOptions.Web),
        };
        request.Headers.Add(PipelineCalls.Header, pipeline);
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var problem = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new HttpRequestException(
                $"The registry refused to move {model}'s {alias} ({(int)response.StatusCode}): {problem}", null, response.StatusCode);
        }

        return (await response.Content.ReadFromJsonAsync<AliasInfo>(JsonSerializerOptions.Web, cancellationToken))!;
    }

    /// <summary>A version's model, loaded from its artifact once the artifact matches the SHA-256 the registry recorded.</summary>
    public async Task<ModelPredictor> LoadAsync(ModelVersionInfo version, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream(await http.GetArtifactAsync(version, cancellationToken), writable: false);
        return ModelPredictor.Load(stream, version.Signature, version.Onnx);
    }
}

/// <summary>
/// Reads what the inference service (<c>http://inference</c>) served live, for a pipeline's rollout: a version's traffic, the
/// shadow totals of a pair of versions and a version's serving drift.
/// </summary>
public sealed class InferenceClient(HttpClient http)
{
    /// <summary>A version's live traffic since it was first served, on every replica.</summary>
    public async Task<LiveTraffic> GetLiveTrafficAsync(string model, int version, CancellationToken cancellationToken) =>
        (await http.GetFromJsonAsync<LiveTraffic>(
            $"/models/{Uri.EscapeDataString(model)}/versions/{version}/live", JsonSerializerOptions.Web, cancellationToken))!;

    /// <summary>How <paramref name="shadow"/> compared with <paramref name="answered"/> on the requests it answered; null before any.</summary>
    public async Task<ShadowComparison?> GetShadowAsync(string model, int answered, int shadow, CancellationToken cancellationToken) =>
        (await http.GetFromJsonAsync<List<ShadowComparison>>($"/models/{Uri.EscapeDataString(model)}/shadow", JsonSerializerOptions.Web, cancellationToken))!
            .SingleOrDefault(pair => pair.AnsweredVersion == answered && pair.ShadowVersion == shadow);

    /// <summary>
    /// The share of a version's inputs that drifted from its training data in the current window; null while it cannot be said
    /// (no rows sampled yet, or no training data to compare with).
    /// </summary>
    public async Task<double?> GetDriftedShareAsync(string model, int version, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync($"/models/{Uri.EscapeDataString(model)}/versions/{version}/drift", cancellationToken);
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        var report = (await response.Content.ReadFromJsonAsync<DriftReading>(JsonSerializerOptions.Web, cancellationToken))!;
        return report.SampledRows == 0 ? null : report.Drift.DriftedShare;
    }

    /// <summary>The parts of a serving drift report a rollout reads.</summary>
    private sealed record DriftReading(int SampledRows, DriftShare Drift);

    private sealed record DriftShare(double DriftedShare);
}
