using ModelPlatform.Contracts;
using ModelPlatform.Feature.Datasets;
using ModelPlatform.Feature.Definitions;
using ModelPlatform.Features;
using ModelPlatform.Storage;

namespace ModelPlatform.Feature.Offline;

/// <summary>What to join a feature service's features onto: a version of a dataset of entity rows, and which column holds their times.</summary>
/// <param name="Output">The dataset the training set becomes a version of; by default <c>{service}-training</c>.</param>
public sealed record TrainingSetRequest(string EntityDataset, string TimestampField, int? EntityDatasetVersion = null, string? Output = null);

/// <summary>
/// Builds point-in-time correct training sets: the entity rows joined to every feature of a feature service as of each
/// row's own time (<see cref="PointInTimeJoin"/>), over every version of each view's dataset, stored as a new dataset
/// version that records what it was joined from.
/// </summary>
public sealed class TrainingSets(DefinitionStore definitions, DatasetStore datasets, DatasetFiles files, ServiceDatabase database)
{
    public async Task<DatasetVersionInfo> BuildAsync(string service, TrainingSetRequest request, AuditActor actor, CancellationToken cancellationToken)
    {
        var definition = await definitions.GetAsync(DefinitionKind<FeatureServiceDefinition>.FeatureService, service, null, cancellationToken)
            ?? throw new FeatureRequestException("name", $"There is no feature service '{service}'.");
        var output = request.Output ?? $"{service}-training";
        if (ResourceNames.NameError(output) is { } outputError)
        {
            throw new FeatureRequestException("output", outputError);
        }

        var entityVersion = await datasets.GetVersionAsync(request.EntityDataset, request.EntityDatasetVersion, cancellationToken)
            ?? throw new FeatureRequestException(
                "entityDataset", $"Dataset '{request.EntityDataset}' has no version {request.EntityDatasetVersion?.ToString() ?? "yet"}.");
        var entityFile = (await datasets.GetFileAsync(entityVersion.Name, entityVersion.Version, cancellationToken))!.Value.Path;

        var sources = new List<FeatureViewSource>();
        var lineage = new List<ViewLineage>();
        var columns = entityVersion.Columns.ToList();
        foreach (var group in definition.Definition.References.OfType<(string View, string Feature)>().GroupBy(reference => reference.View))
        {
            var view = (await definitions.GetAsync(DefinitionKind<FeatureViewDefinition>.FeatureView, group.Key, null, cancellationToken))!;
            var entity = (await definitions.GetAsync(DefinitionKind<EntityDefinition>.Entity, view.Definition.Entity, null, cancellationToken))!;
            var versions = await datasets.GetAllFilesAsync(view.Definition.Dataset, cancellationToken);
            if (versions.Count == 0)
            {
                throw new FeatureRequestException(
                    "name", $"Feature view '{view.Definition.Name}' reads dataset '{view.Definition.Dataset}', which has no version yet.");
            }

            var viewFiles = versions.Select(version => version.Path).ToList();
            var features = group.Select(reference => reference.Feature).ToList();
            var source = new FeatureViewSource(
                view.Definition.Name, viewFiles, [.. entity.Definition.JoinKeys.Select(key => key.Name)], view.Definition.TimestampField,
                view.Definition.CreatedTimestampField, view.Definition.Ttl, features);
            sources.Add(source);
            var outputs = features.Select(feature => new FeatureColumn(feature, PointInTimeJoinQuery.OutputName(source, feature))).ToList();
            lineage.Add(new ViewLineage(
                view.Definition.Name, view.Version, view.Definition.Dataset, [.. versions.Select(version => version.Version.Version)], source.JoinKeys,
                view.Definition.TtlSeconds, outputs));
            columns.AddRange(outputs.Select(output => new ColumnSchema(
                output.Column, view.Definition.Features.Single(field => field.Name == output.Feature).Type ?? ColumnType.Numeric)));
        }

        var joined = files.NewTemporaryPath();
        try
        {
            var result = await PointInTimeJoin.WriteAsync(
                new EntitySource([entityFile], request.TimestampField), sources, joined, database.ScratchDirectory, cancellationToken);
            var file = await files.StoreAsync(joined, result.Rows, cancellationToken);
            return await datasets.AddVersionAsync(
                output, columns, file, file.Sha256,
                new TrainingSetLineage(service, definition.Version, entityVersion.Name, entityVersion.Version, request.TimestampField, lineage),
                predictions: null, actor, cancellationToken);
        }
        catch (PointInTimeJoinException ex)
        {
            throw new FeatureRequestException(ex.Column is null ? "entityDataset" : $"columns.{ex.Column}", ex.Message);
        }
        finally
        {
            File.Delete(joined);
        }
    }
}
