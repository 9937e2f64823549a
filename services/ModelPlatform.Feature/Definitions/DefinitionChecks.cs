using ModelPlatform.Contracts;
using ModelPlatform.Features;
using static ModelPlatform.Feature.Definitions.DefinitionStore;

namespace ModelPlatform.Feature.Definitions;

/// <summary>
/// What makes a definition valid on its own, against its source dataset, and against the definitions that depend on it.
/// Problems name the field (<c>joinKeys[0].type</c>) or the column (<c>columns.customer_id</c>) at fault.
/// </summary>
public static class DefinitionChecks
{
    private const int MaxColumnName = 128;

    /// <summary>The shortest schedule: a run every few seconds would spend its time on the checks, not on new rows.</summary>
    public const int MinMaterializeEverySeconds = 60;

    public const int MaxMaterializeEverySeconds = 366 * 86_400;

    /// <summary>An entity as <see cref="DefinitionStore.PutAsync"/> stores it, with what is wrong with it or what it breaks.</summary>
    public static Func<DefinitionReader, Task<(EntityDefinition, DefinitionProblems)>> PrepareEntity(EntityDefinition entity) =>
        async reader => (entity, Entity(entity) is { Count: > 0 } invalid ? new(invalid, []) : new([], await EntityBreaksAsync(entity, reader)));

    /// <summary>A view as it will be read (feature types filled in from <paramref name="latestData"/>), with its problems.</summary>
    /// <param name="models">The registry's model versions trained from feature services: what the change must not break.</param>
    public static Func<DefinitionReader, Task<(FeatureViewDefinition, DefinitionProblems)>> PrepareView(
        FeatureViewDefinition view, DatasetVersionInfo? latestData, IReadOnlyList<ModelVersionInfo> models) =>
        async reader =>
        {
            var (resolved, invalid) = await ViewAsync(view, reader, latestData);
            return invalid.Count > 0
                ? (resolved, new(invalid, []))
                : (resolved, new([], [.. await ViewBreaksAsync(resolved, reader), .. await ViewBreaksModelsAsync(resolved, reader, models)]));
        };

    /// <param name="models">The registry's model versions trained from feature services: what the change must not break.</param>
    public static Func<DefinitionReader, Task<(FeatureServiceDefinition, DefinitionProblems)>> PrepareService(
        FeatureServiceDefinition service, IReadOnlyList<ModelVersionInfo> models) =>
        async reader => await ServiceAsync(service, reader) is { Count: > 0 } invalid
            ? (service, new(invalid, []))
            : (service, new([], ServiceBreaksModels(service, models)));

    /// <summary>A model trained from a feature service is served through it: every feature it was trained on stays in it.</summary>
    public static IReadOnlyList<string> ServiceBreaksModels(FeatureServiceDefinition service, IReadOnlyList<ModelVersionInfo> models)
    {
        var kept = service.Features.ToHashSet();
        return [.. models
            .Where(model => model.Lineage.TrainingSet?.FeatureService == service.Name)
            .Select(model => (model, Removed: model.Lineage.TrainingSet!.FeatureReferences.Where(reference => !kept.Contains(reference)).ToList()))
            .Where(use => use.Removed.Count > 0)
            .Select(use => $"Model '{use.model.ModelName}' v{use.model.Version} was trained on {string.Join(", ", use.Removed)} from this service, "
                + "which this change removes.")];
    }

    /// <summary>
    /// A model reads each of its features from its view, found by the keys it was trained with: those features stay with
    /// their types, and the keys stay the same.
    /// </summary>
    public static async Task<IReadOnlyList<string>> ViewBreaksModelsAsync(
        FeatureViewDefinition view, DefinitionReader reader, IReadOnlyList<ModelVersionInfo> models)
    {
        var latest = (await reader.GetAsync(DefinitionKind<FeatureViewDefinition>.FeatureView, view.Name))?.Definition;
        var types = view.Features.ToDictionary(feature => feature.Name, feature => feature.Type);
        var keys = (await reader.GetAsync(DefinitionKind<EntityDefinition>.Entity, view.Entity))?.Definition.JoinKeys.Select(key => key.Name).ToList() ?? [];
        var breaks = new List<string>();
        foreach (var model in models)
        {
            foreach (var used in model.Lineage.TrainingSet?.Views.Where(used => used.View == view.Name) ?? [])
            {
                var lost = used.Features.Select(feature => feature.Feature)
                    .Where(feature => !types.TryGetValue(feature, out var type)
                        || latest?.Features.FirstOrDefault(before => before.Name == feature) is { } before && before.Type != type)
                    .ToList();
                if (lost.Count > 0)
                {
                    breaks.Add($"Model '{model.ModelName}' v{model.Version} reads {string.Join(", ", lost.Select(feature => $"{view.Name}:{feature}"))}, "
                        + "which this change removes or retypes.");
                }

                if (!keys.SequenceEqual(used.JoinKeys))
                {
                    breaks.Add($"Model '{model.ModelName}' v{model.Version} finds {view.Name}'s features by {string.Join(", ", used.JoinKeys)}, "
                        + $"but this change finds them by {string.Join(", ", keys)}.");
                }
            }
        }

        return breaks;
    }

    public static Dictionary<string, string[]> Entity(EntityDefinition entity)
    {
        var problems = new Dictionary<string, string[]>();
        if (entity.JoinKeys is not { Count: > 0 })
        {
            problems["joinKeys"] = ["must name at least one column"];
            return problems;
        }

        for (var i = 0; i < entity.JoinKeys.Count; i++)
        {
            var key = entity.JoinKeys[i];
            if (ColumnNameError(key.Name) is { } error)
            {
                problems[$"joinKeys[{i}].name"] = [error];
            }

            if (key.Type is not (ColumnType.Numeric or ColumnType.Categorical))
            {
                problems[$"joinKeys[{i}].type"] = ["must be numeric or categorical"];
            }
        }

        if (entity.JoinKeys.GroupBy(key => key.Name).FirstOrDefault(names => names.Count() > 1) is { } repeated)
        {
            problems["joinKeys"] = [$"names '{repeated.Key}' more than once"];
        }

        return problems;
    }

    /// <summary>An entity's join keys are what its views' rows are found by: they change only while no view reads them.</summary>
    public static async Task<IReadOnlyList<string>> EntityBreaksAsync(EntityDefinition entity, DefinitionReader reader)
    {
        var latest = await reader.GetAsync(DefinitionKind<EntityDefinition>.Entity, entity.Name);
        if (latest is null || latest.Definition.JoinKeys.SequenceEqual(entity.JoinKeys))
        {
            return [];
        }

        var views = (await reader.ListAsync(DefinitionKind<FeatureViewDefinition>.FeatureView))
            .Where(view => view.Definition.Entity == entity.Name).Select(view => view.Definition.Name).ToList();
        return views.Count == 0 ? [] : [$"The feature views {string.Join(", ", views)} find their rows by this entity's join keys, which this change alters."];
    }

    /// <summary>
    /// Checks a view on its own and against its entity and its dataset's latest version (when it has one), and fills in each
    /// feature's type from that version where the view leaves it out.
    /// </summary>
    public static async Task<(FeatureViewDefinition View, Dictionary<string, string[]> Problems)> ViewAsync(
        FeatureViewDefinition view, DefinitionReader reader, DatasetVersionInfo? latestData)
    {
        var problems = new Dictionary<string, string[]>();
        if (ResourceNames.NameError(view.Dataset) is { } datasetError)
        {
            problems["dataset"] = [datasetError];
        }

        if (ColumnNameError(view.TimestampField) is { } timestampError)
        {
            problems["timestampField"] = [timestampError];
        }

        if (view.CreatedTimestampField is { } created && ColumnNameError(created) is { } createdError)
        {
            problems["createdTimestampField"] = [createdError];
        }

        if (view.TtlSeconds < 0)
        {
            problems["ttlSeconds"] = ["must be 0 (no limit) or more"];
        }

        if (view.MaterializeEverySeconds is { } every)
        {
            if (!view.Online)
            {
                problems["materializeEverySeconds"] = ["only an online view is materialized: leave the schedule out, or make the view online"];
            }
            else if (every is < MinMaterializeEverySeconds or > MaxMaterializeEverySeconds)
            {
                problems["materializeEverySeconds"] = [$"must be from {MinMaterializeEverySeconds} seconds to {MaxMaterializeEverySeconds} (a year)"];
            }
        }

        var entity = view.Entity is null ? null : await reader.GetAsync(DefinitionKind<EntityDefinition>.Entity, view.Entity);
        if (entity is null)
        {
            problems["entity"] = [$"there is no entity '{view.Entity}'"];
        }

        if (view.Features is not { Count: > 0 })
        {
            problems["features"] = ["must name at least one column"];
            return (view, problems);
        }

        var reserved = (entity?.Definition.JoinKeys.Select(key => key.Name) ?? []).Append(view.TimestampField).Append(view.CreatedTimestampField).ToHashSet();
        var columns = latestData?.Columns.ToDictionary(column => column.Name, column => column.Type);
        var features = new List<FeatureField>();
        for (var i = 0; i < view.Features.Count; i++)
        {
            var feature = view.Features[i];
            if (ColumnNameError(feature.Name) is { } error)
            {
                problems[$"features[{i}].name"] = [error];
            }
            else if (reserved.Contains(feature.Name))
            {
                problems[$"features[{i}].name"] = [$"'{feature.Name}' is a join key or timestamp of the view, not a feature"];
            }
            else if (feature.Type is null && columns is null)
            {
                problems[$"features[{i}].type"] = [$"dataset '{view.Dataset}' has no version yet to take the type from: give it"];
            }
            else if (feature.Type is ColumnType.Timestamp)
            {
                problems[$"features[{i}].type"] = ["must be numeric, categorical, text or boolean"];
            }

            features.Add(feature with { Type = feature.Type ?? columns?.GetValueOrDefault(feature.Name) });
        }

        if (view.Features.GroupBy(feature => feature.Name).FirstOrDefault(names => names.Count() > 1) is { } repeated)
        {
            problems["features"] = [$"names '{repeated.Key}' more than once"];
        }

        var resolved = view with { Features = features };
        if (problems.Count == 0 && entity is not null && latestData is not null)
        {
            foreach (var (column, problem) in ColumnProblems(resolved, entity.Definition, latestData.Columns))
            {
                problems[$"columns.{column}"] = [$"dataset '{view.Dataset}' v{latestData.Version}: {problem}"];
            }
        }

        return (resolved, problems);
    }

    /// <summary>A view's features are what feature services name: one a service uses stays, with its type.</summary>
    public static async Task<IReadOnlyList<string>> ViewBreaksAsync(FeatureViewDefinition view, DefinitionReader reader)
    {
        var kept = view.Features.ToDictionary(feature => feature.Name, feature => feature.Type);
        var latest = await reader.GetAsync(DefinitionKind<FeatureViewDefinition>.FeatureView, view.Name);
        var changed = latest?.Definition.Features.Where(feature => !kept.TryGetValue(feature.Name, out var type) || type != feature.Type)
            .Select(feature => feature.Name).ToHashSet() ?? [];
        if (changed.Count == 0)
        {
            return [];
        }

        return [.. (await reader.ListAsync(DefinitionKind<FeatureServiceDefinition>.FeatureService))
            .SelectMany(service => service.Definition.References.OfType<(string View, string Feature)>()
                .Where(reference => reference.View == view.Name && changed.Contains(reference.Feature))
                .Select(reference =>
                    $"Feature service '{service.Definition.Name}' uses {reference.View}:{reference.Feature}, which this change removes or retypes."))];
    }

    public static async Task<Dictionary<string, string[]>> ServiceAsync(FeatureServiceDefinition service, DefinitionReader reader)
    {
        var problems = new Dictionary<string, string[]>();
        if (service.Features is not { Count: > 0 })
        {
            problems["features"] = ["must name at least one view:feature"];
            return problems;
        }

        var references = service.References;
        for (var i = 0; i < references.Count; i++)
        {
            if (references[i] is not var (viewName, featureName))
            {
                problems[$"features[{i}]"] = [$"'{service.Features[i]}' is not view:feature"];
            }
            else if (await reader.GetAsync(DefinitionKind<FeatureViewDefinition>.FeatureView, viewName) is not { } view)
            {
                problems[$"features[{i}]"] = [$"there is no feature view '{viewName}'"];
            }
            else if (view.Definition.Features.All(feature => feature.Name != featureName))
            {
                problems[$"features[{i}]"] = [$"feature view '{viewName}' has no feature '{featureName}'"];
            }
        }

        if (service.Features.GroupBy(reference => reference).FirstOrDefault(names => names.Count() > 1) is { } repeated)
        {
            problems["features"] = [$"names '{repeated.Key}' more than once"];
        }

        return problems;
    }

    /// <summary>What a dataset version's columns lack, or have with another type, of what <paramref name="view"/> reads; by column.</summary>
    public static IEnumerable<(string Column, string Problem)> ColumnProblems(
        FeatureViewDefinition view, EntityDefinition entity, IReadOnlyList<ColumnSchema> columns)
    {
        var types = columns.ToDictionary(column => column.Name, column => column.Type);
        var needed = entity.JoinKeys.Select(key => (key.Name, Type: key.Type, Role: $"join key of entity '{entity.Name}'"))
            .Append((view.TimestampField, ColumnType.Timestamp, "event timestamp"))
            .Concat(view.CreatedTimestampField is { } created ? [(created, ColumnType.Timestamp, "created timestamp")] : [])
            .Concat(view.Features.Select(feature => (feature.Name, Type: feature.Type ?? ColumnType.Numeric, Role: "feature")));
        foreach (var (name, type, role) in needed)
        {
            if (!types.TryGetValue(name, out var actual))
            {
                yield return (name, $"feature view '{view.Name}' reads '{name}' ({role}), which is missing");
            }
            else if (actual != type)
            {
                yield return (name, $"feature view '{view.Name}' reads '{name}' ({role}) as {Name(type)}, but it is {Name(actual)}");
            }
        }
    }

    private static string Name(ColumnType type) => type.ToString().ToLowerInvariant();

    private static string? ColumnNameError(string? name) =>
        string.IsNullOrWhiteSpace(name) ? "must name a column" : name.Length > MaxColumnName ? $"must be at most {MaxColumnName} characters" : null;
}
