using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using ModelPlatform.Contracts;
using ModelPlatform.Feature.Datasets;
using ModelPlatform.Feature.Definitions;
using ModelPlatform.Feature.Offline;
using ModelPlatform.Features.Statistics;
using ModelPlatform.Messaging;
using ModelPlatform.Storage;

namespace ModelPlatform.Feature.Apis;

public static class DatasetsApi
{
    public const int MaxRowsPerPage = 10_000;

    public const string ParquetMediaType = "application/vnd.apache.parquet";

    public static IEndpointRouteBuilder MapDatasetsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/datasets").WithTags("Datasets");
        // Readers, and the training service, which reads the datasets its jobs train on.
        var reads = api.MapGroup("").RequireRoles(PlatformRoles.Reader, PlatformRoles.TrainingService);

        api.MapPost("/{name}/versions", CreateVersion)
            .WithName("CreateDatasetVersion")
            .WithSummary("Upload a CSV (with a header row), or a Parquet file with its columns declared, as the next immutable version of a dataset")
            .Accepts<string>("text/csv", "multipart/form-data")
            .DisableAntiforgery()
            // The training service stores the predictions of batch prediction jobs.
            .RequireRoles(PlatformRoles.Scientist, PlatformRoles.TrainingService);
        reads.MapGet("/", ListDatasets)
            .WithName("ListDatasets")
            .WithSummary("List datasets with their latest version");
        reads.MapGet("/{name}", GetDataset)
            .WithName("GetDataset")
            .WithSummary("List the versions of a dataset");
        reads.MapGet("/{name}/versions/{version}", GetVersion)
            .WithName("GetDatasetVersion")
            .WithSummary("Get a version's schema and row count; the version may be a number or 'latest'");
        reads.MapGet("/{name}/versions/{version}/rows", GetRows)
            .WithName("GetDatasetRows")
            .WithSummary($"Read a page of typed rows (limit at most {MaxRowsPerPage})");
        reads.MapGet("/{name}/versions/{version}/statistics", GetStatistics)
            .WithName("GetDatasetStatistics")
            .WithSummary("Per-column statistics: counts, missing and distinct; moments, quantiles and a histogram of numbers; top values of labels");
        reads.MapGet("/{name}/drift", GetDrift)
            .WithName("GetDatasetDrift")
            .WithSummary("Compare two versions column by column: KS or chi-square on small references, Wasserstein or Jensen-Shannon on large; PSI");
        // A read with a body: the inference service sends the sample of inputs a model version was sent, to compare with the
        // version it was trained on.
        api.MapPost("/{name}/versions/{version}/drift", CompareSample)
            .WithName("CompareSampleWithDatasetVersion")
            .WithSummary("Compare a sample of column values (such as a model's inputs) with a version's, by the tests of GET /drift")
            .RequireRoles(PlatformRoles.Reader, PlatformRoles.InferenceService);
        reads.MapGet("/{name}/versions/{version}/data", GetData)
            .WithName("GetDatasetData")
            .WithSummary("Download a version's rows as one Parquet file (what training reads); its ETag is the file's SHA-256")
            .Produces(StatusCodes.Status200OK, contentType: ParquetMediaType);

        return app;
    }

    public static async Task<Results<Created<DatasetVersionInfo>, ValidationProblem, ProblemHttpResult>> CreateVersion(
        string name, HttpRequest request, DatasetStore store, DatasetFiles files, DefinitionStore definitions, OutboxRelay relay,
        IOptions<FeatureOptions> options, CancellationToken cancellationToken)
    {
        if (ResourceNames.NameError(name) is { } nameError)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = [nameError] });
        }

        if (request.HasFormContentType)
        {
            return await ImportParquetAsync(name, request, store, files, definitions, relay, options.Value, cancellationToken);
        }

        if (!request.HttpContext.User.IsInRole(PlatformRoles.Scientist))
        {
            return TypedResults.Problem("A CSV upload needs the scientist role.", statusCode: StatusCodes.Status403Forbidden);
        }

        if (request.ContentType is { } contentType && !contentType.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase))
        {
            return TypedResults.Problem(
                $"The body must be text/csv, not {contentType}.", statusCode: StatusCodes.Status415UnsupportedMediaType);
        }

        // Uploads may be larger than the service-wide JSON limit, but stay bounded by their own. The body goes to a file
        // (hashed on the way) and is read from there twice, so a large upload never sits in memory.
        request.HttpContext.SetMaxRequestBodySize(options.Value.MaxUploadBytes);
        using var upload = await StagedFile.ReceiveAsync(store.UploadsDirectory, request.Body, cancellationToken);
        var limits = options.Value.Limits;
        CsvShape shape;
        try
        {
            await using var file = File.OpenRead(upload.TemporaryPath);
            shape = await CsvDatasetReader.InspectAsync(file, limits, cancellationToken);
        }
        catch (CsvFormatException ex)
        {
            var errors = new Dictionary<string, string[]> { [ex.Line is { } line ? $"line {line}" : "body"] = [ex.Message] };
            return TypedResults.ValidationProblem(errors, detail: ex.Message, title: "The CSV could not be read.");
        }

        // A dataset feature views read takes only versions that keep what they read.
        if (await definitions.AppendProblemsAsync(name, shape.Columns, cancellationToken) is { Count: > 0 } problems)
        {
            return TypedResults.ValidationProblem(
                problems, detail: string.Join(" ", problems.Values.SelectMany(list => list)),
                title: "The upload does not fit the feature views that read this dataset.");
        }

        await using var rows = File.OpenRead(upload.TemporaryPath);
        var info = await store.AddVersionAsync(
            name, shape, CsvDatasetReader.ReadRowsAsync(rows, shape, limits, cancellationToken), upload.Sha256, AuditActor.From(request.HttpContext),
            cancellationToken);
        // Its DatasetVersionCreated committed with it: send it now rather than at the relay's next poll.
        relay.Wake();
        return TypedResults.Created($"/datasets/{name}/versions/{info.Version}", info with { Delimiter = shape.Delimiter });
    }

    /// <summary>
    /// A Parquet file as the next version: a form of <c>metadata</c> (<see cref="DatasetVersionImport"/>: the file's columns,
    /// and for a batch prediction job's predictions what they were scored from) and <c>data</c> (the file). Only the training
    /// service stores a job's predictions, and a job's upload sent again answers the version it made.
    /// </summary>
    private static async Task<Results<Created<DatasetVersionInfo>, ValidationProblem, ProblemHttpResult>> ImportParquetAsync(
        string name, HttpRequest request, DatasetStore store, DatasetFiles files, DefinitionStore definitions, OutboxRelay relay,
        FeatureOptions options, CancellationToken cancellationToken)
    {
        request.HttpContext.SetMaxRequestBodySize(options.MaxUploadBytes);
        var form = await request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = options.MaxUploadBytes }, cancellationToken);
        DatasetVersionImport? import = null;
        var errors = new Dictionary<string, string[]>();
        try
        {
            import = form["metadata"] is [{ } metadata] ? JsonSerializer.Deserialize<DatasetVersionImport>(metadata, JsonSerializerOptions.Web) : null;
        }
        catch (JsonException ex)
        {
            errors["metadata"] = [$"is not valid JSON for the upload's columns: {ex.Message}"];
        }

        if (import is not null)
        {
            foreach (var (field, columnErrors) in ParquetImport.Check(import.Columns, options.Limits))
            {
                errors[field] = columnErrors;
            }
        }
        else if (errors.Count == 0)
        {
            errors["metadata"] = ["is required: a JSON object with the file's 'columns', each a name and a type"];
        }

        var data = form.Files.GetFile("data");
        if (data is not { Length: > 0 })
        {
            errors["data"] = ["is required: the Parquet file"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The Parquet upload could not be taken.");
        }

        if (import!.Predictions is { } predictions && !request.HttpContext.User.IsInRole(PlatformRoles.TrainingService))
        {
            return TypedResults.Problem(
                $"Only the training service stores the predictions of batch prediction job {predictions.JobId}; leave metadata.predictions out.",
                statusCode: StatusCodes.Status403Forbidden);
        }

        if (import.Predictions is null && !request.HttpContext.User.IsInRole(PlatformRoles.Scientist))
        {
            return TypedResults.Problem("An upload needs the scientist role.", statusCode: StatusCodes.Status403Forbidden);
        }

        var columns = import.Columns!;
        if (await definitions.AppendProblemsAsync(name, columns, cancellationToken) is { Count: > 0 } problems)
        {
            return TypedResults.ValidationProblem(
                problems, detail: string.Join(" ", problems.Values.SelectMany(list => list)),
                title: "The upload does not fit the feature views that read this dataset.");
        }

        using var upload = await StagedFile.ReceiveAsync(store.UploadsDirectory, data!.OpenReadStream(), cancellationToken);
        var written = files.NewTemporaryPath();
        try
        {
            long rows;
            try
            {
                using var duckdb = files.OpenUploadEngine();
                rows = ParquetImport.Write(duckdb, upload.TemporaryPath, columns, options.Limits, written);
            }
            catch (FeatureRequestException ex)
            {
                return TypedResults.ValidationProblem(
                    new Dictionary<string, string[]> { [ex.Field] = [ex.Message] }, title: "The Parquet upload could not be taken.");
            }
            catch (DuckDB.NET.Data.DuckDBException ex)
            {
                return TypedResults.ValidationProblem(
                    new Dictionary<string, string[]> { ["data"] = [$"could not be read as its columns declare: {ex.Message.Split('\n', 2)[0]}"] },
                    title: "The Parquet upload could not be taken.");
            }

            var file = await files.StoreAsync(written, rows, cancellationToken);
            var info = await store.AddVersionAsync(
                name, columns, file, upload.Sha256, lineage: null, import.Predictions, AuditActor.From(request.HttpContext), cancellationToken);
            // A job's upload sent again announces nothing new; the wake then finds nothing to send.
            relay.Wake();
            return TypedResults.Created($"/datasets/{info.Name}/versions/{info.Version}", info);
        }
        finally
        {
            File.Delete(written);
        }
    }

    public static async Task<Ok<IReadOnlyList<DatasetSummary>>> ListDatasets(DatasetStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.ListAsync(cancellationToken));

    public static async Task<Results<Ok<IReadOnlyList<DatasetVersionInfo>>, NotFound<ProblemDetails>>> GetDataset(
        string name, DatasetStore store, CancellationToken cancellationToken)
    {
        var versions = await store.GetVersionsAsync(name, cancellationToken);
        return versions.Count == 0 ? DatasetNotFound(name) : TypedResults.Ok(versions);
    }

    public static async Task<Results<Ok<DatasetVersionInfo>, NotFound<ProblemDetails>, ValidationProblem>> GetVersion(
        string name, string version, DatasetStore store, CancellationToken cancellationToken)
    {
        if (!TryParseVersion(version, out var number))
        {
            return InvalidVersion(version);
        }

        var info = await store.GetVersionAsync(name, number, cancellationToken);
        return info is null ? DatasetNotFound(name, version) : TypedResults.Ok(info);
    }

    public static async Task<Results<Ok<DatasetRowsPage>, NotFound<ProblemDetails>, ValidationProblem>> GetRows(
        string name, string version, DatasetStore store, CancellationToken cancellationToken, int offset = 0, int limit = 100)
    {
        if (!TryParseVersion(version, out var number))
        {
            return InvalidVersion(version);
        }

        var errors = new Dictionary<string, string[]>();
        if (offset < 0)
        {
            errors["offset"] = ["must be 0 or more"];
        }

        if (limit is < 1 or > MaxRowsPerPage)
        {
            errors["limit"] = [$"must be between 1 and {MaxRowsPerPage}"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var info = await store.GetVersionAsync(name, number, cancellationToken);
        if (info is null)
        {
            return DatasetNotFound(name, version);
        }

        var rows = await store.GetRowsAsync(name, info.Version, offset, limit, cancellationToken);
        return TypedResults.Ok(new DatasetRowsPage(name, info.Version, offset, limit, info.Rows, rows));
    }

    public static async Task<Results<PhysicalFileHttpResult, NotFound<ProblemDetails>, ValidationProblem>> GetData(
        string name, string version, DatasetStore store, CancellationToken cancellationToken)
    {
        if (!TryParseVersion(version, out var number))
        {
            return InvalidVersion(version);
        }

        var info = await store.GetVersionAsync(name, number, cancellationToken);
        if (info is null || await store.GetFileAsync(name, info.Version, cancellationToken) is not { } file)
        {
            return DatasetNotFound(name, version);
        }

        return TypedResults.PhysicalFile(
            file.Path, ParquetMediaType, $"{name}-v{info.Version}.parquet", entityTag: new EntityTagHeaderValue($"\"{file.Sha256}\""),
            enableRangeProcessing: true);
    }

    public static async Task<Results<Ok<IReadOnlyList<ColumnStatistics>>, NotFound<ProblemDetails>, ValidationProblem>> GetStatistics(
        string name, string version, DatasetStore store, CancellationToken cancellationToken)
    {
        if (!TryParseVersion(version, out var number))
        {
            return InvalidVersion(version);
        }

        var info = await store.GetVersionAsync(name, number, cancellationToken);
        return info is not null && await store.GetStatisticsAsync(name, info.Version, cancellationToken) is { } statistics
            ? TypedResults.Ok(statistics)
            : DatasetNotFound(name, version);
    }

    /// <summary>Compares <c>?current=</c> with <c>?baseline=</c> (each a version number or 'latest').</summary>
    public static async Task<Results<Ok<DatasetDrift>, NotFound<ProblemDetails>, ValidationProblem>> GetDrift(
        string name, string? baseline, string? current, DatasetStore store, IOptions<FeatureOptions> options, CancellationToken cancellationToken)
    {
        int? baselineNumber = null, currentNumber = null;
        var errors = new Dictionary<string, string[]>();
        if (baseline is null || !TryParseVersion(baseline, out baselineNumber))
        {
            errors["baseline"] = [$"'{baseline}' is not a positive version number or 'latest'"];
        }

        if (current is null || !TryParseVersion(current, out currentNumber))
        {
            errors["current"] = [$"'{current}' is not a positive version number or 'latest'"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var reference = await store.GetVersionAsync(name, baselineNumber, cancellationToken);
        var compared = await store.GetVersionAsync(name, currentNumber, cancellationToken);
        if (reference is null || compared is null)
        {
            return DatasetNotFound(name, reference is null ? baseline : current);
        }

        var drift = await store.CompareAsync(name, reference.Version, compared.Version, options.Value.Drift, cancellationToken);
        return drift is null ? DatasetNotFound(name) : TypedResults.Ok(drift);
    }

    /// <summary>Compares the sample's columns with the same columns of the version (a number or 'latest').</summary>
    public static async Task<Results<Ok<DatasetDrift>, NotFound<ProblemDetails>, ValidationProblem>> CompareSample(
        string name, string version, SampleDriftRequest sample, DatasetStore store, IOptions<FeatureOptions> options,
        CancellationToken cancellationToken)
    {
        if (!TryParseVersion(version, out var number))
        {
            return InvalidVersion(version);
        }

        if (await store.GetVersionAsync(name, number, cancellationToken) is not { } info)
        {
            return DatasetNotFound(name, version);
        }

        var (columns, problems) = SampleColumns.Read(sample, info);
        if (columns is null)
        {
            return TypedResults.ValidationProblem(problems, title: $"The sample does not fit {name} v{info.Version}.");
        }

        var drift = await store.CompareSampleAsync(info, columns, options.Value.Drift, cancellationToken);
        return drift is null ? DatasetNotFound(name, version) : TypedResults.Ok(drift);
    }

    private static bool TryParseVersion(string version, out int? number)
    {
        number = null;
        if (string.Equals(version, "latest", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var ok = int.TryParse(version, out var parsed) && parsed > 0;
        number = parsed;
        return ok;
    }

    private static ValidationProblem InvalidVersion(string version) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["version"] = [$"'{version}' is not a positive version number or 'latest'"] });

    private static NotFound<ProblemDetails> DatasetNotFound(string name, string? version = null) =>
        ProblemResults.NotFound(version is null ? $"There is no dataset '{name}'." : $"Dataset '{name}' has no version '{version}'.");
}
