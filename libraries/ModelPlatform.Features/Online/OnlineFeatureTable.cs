using System.Text.Json.Serialization;

namespace ModelPlatform.Features.Online;

/// <summary>Features to read from one view, by name.</summary>
public sealed record OnlineFeatureRequest(OnlineView View, IReadOnlyList<string> Features)
{
    /// <summary>
    /// Groups <c>view:feature</c> references into one request per view, views and features in the order they first appear.
    /// </summary>
    /// <param name="references">Such as <c>driver_hourly:conv_rate</c>.</param>
    /// <param name="findView">The view of a name, or null when there is none.</param>
    public static IReadOnlyList<OnlineFeatureRequest> FromReferences(IEnumerable<string> references, Func<string, OnlineView?> findView)
    {
        var byView = new Dictionary<string, (OnlineView View, List<string> Features)>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var reference in references)
        {
            var separator = reference.IndexOf(':');
            if (separator <= 0 || separator == reference.Length - 1)
            {
                throw new ArgumentException($"Feature reference '{reference}' is not of the form view:feature.", nameof(references));
            }

            var viewName = reference[..separator];
            if (!byView.TryGetValue(viewName, out var request))
            {
                var view = findView(viewName)
                    ?? throw new ArgumentException($"Feature reference '{reference}' names no known feature view.", nameof(references));
                request = (view, []);
                byView.Add(viewName, request);
                order.Add(viewName);
            }

            var feature = reference[(separator + 1)..];
            if (!request.Features.Contains(feature))
            {
                request.Features.Add(feature);
            }
        }

        return [.. order.Select(name => new OnlineFeatureRequest(byView[name].View, byView[name].Features))];
    }
}

/// <summary>What a read found for one value.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FeatureStatus>))]
public enum FeatureStatus
{
    /// <summary>The entity's row is fresh and holds a value.</summary>
    [JsonStringEnumMemberName("present")]
    Present,

    /// <summary>The entity's row is fresh and its value is null.</summary>
    [JsonStringEnumMemberName("null")]
    Null,

    /// <summary>The store holds no row for the entity in this view.</summary>
    [JsonStringEnumMemberName("not_found")]
    NotFound,

    /// <summary>The entity's row is older than the view's TTL: its value is withheld.</summary>
    [JsonStringEnumMemberName("outside_max_age")]
    OutsideMaxAge,
}

/// <summary>
/// The answer to a read, shaped as Feast's feature server answers: one result per feature (in <see cref="OnlineFeatureMetadata.Features"/>'
/// order), each with one value, status and event time per entity, in the order the entities were asked for.
/// </summary>
public sealed record OnlineFeatureTable(OnlineFeatureMetadata Metadata, IReadOnlyList<OnlineFeatureResult> Results)
{
    /// <summary>The result of one feature, by its <c>view:feature</c> reference.</summary>
    public OnlineFeatureResult this[string feature]
    {
        get
        {
            for (var index = 0; index < Metadata.Features.Count; index++)
            {
                if (Metadata.Features[index] == feature)
                {
                    return Results[index];
                }
            }

            throw new KeyNotFoundException($"The read did not ask for feature '{feature}'.");
        }
    }
}

/// <param name="Features">The <c>view:feature</c> references, one per result.</param>
public sealed record OnlineFeatureMetadata(IReadOnlyList<string> Features);

/// <param name="Values">Numbers as <see cref="double"/>, strings, booleans; null unless the status is <see cref="FeatureStatus.Present"/>.</param>
/// <param name="EventTimestamps">When each entity's row was true; null when no row was found.</param>
[JsonConverter(typeof(OnlineFeatureResultConverter))]
public sealed record OnlineFeatureResult(
    IReadOnlyList<object?> Values,
    IReadOnlyList<FeatureStatus> Statuses,
    IReadOnlyList<DateTimeOffset?> EventTimestamps);
