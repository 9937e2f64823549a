using System.Text.Json.Serialization;
using ModelPlatform.Contracts;

namespace ModelPlatform.Features;

/// <summary>A column that identifies what features describe (<c>customer_id</c>), with the type its values have.</summary>
public sealed record JoinKey(string Name, ColumnType Type);

/// <summary>What feature views describe: one join key (<c>customer_id</c>) or several (<c>customer_id</c> + <c>merchant_id</c>).</summary>
public sealed record EntityDefinition(string Name, IReadOnlyList<JoinKey> JoinKeys, string? Description = null);

/// <summary>A feature column of a view; its type may be left to the source dataset's latest version to say.</summary>
public sealed record FeatureField(string Name, ColumnType? Type = null);

/// <summary>
/// A named group of features about one entity, read from the versions of a dataset as they are appended.
/// </summary>
/// <param name="TimestampField">When each row's values became true: the point-in-time join and the online store's age read it.</param>
/// <param name="CreatedTimestampField">When each row was written; breaks ties between rows of one event time (late corrections win).</param>
/// <param name="TtlSeconds">How long a value stays valid after its event time; 0 is for ever.</param>
/// <param name="Online">Whether materialization loads the view into the online store.</param>
/// <param name="MaterializeEverySeconds">How often the feature service materializes an online view on its own; null is only on demand.</param>
public sealed record FeatureViewDefinition(
    string Name,
    string Entity,
    string Dataset,
    string TimestampField,
    IReadOnlyList<FeatureField> Features,
    long TtlSeconds = 0,
    string? CreatedTimestampField = null,
    bool Online = true,
    string? Description = null,
    long? MaterializeEverySeconds = null)
{
    [JsonIgnore]
    public TimeSpan Ttl => TimeSpan.FromSeconds(TtlSeconds);

    [JsonIgnore]
    public TimeSpan? MaterializeEvery => MaterializeEverySeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null;
}

/// <summary>The features a model uses, as <c>view:feature</c> references: what training and serving both read.</summary>
public sealed record FeatureServiceDefinition(string Name, IReadOnlyList<string> Features, string? Description = null)
{
    /// <summary>The references split into view and feature, in order; null for one that is not <c>view:feature</c>.</summary>
    [JsonIgnore]
    public IReadOnlyList<(string View, string Feature)?> References => [.. Features.Select(FeatureReference.Parse)];
}

/// <summary>A <c>view:feature</c> reference.</summary>
public static class FeatureReference
{
    public static (string View, string Feature)? Parse(string reference) =>
        reference.Split(':') is [var view, var feature] && view.Length > 0 && feature.Length > 0 ? (view, feature) : null;
}

/// <summary>One version of a definition: definitions change by adding versions, and every version stays readable.</summary>
public sealed record DefinitionVersion<T>(int Version, DateTimeOffset CreatedAt, T Definition);
