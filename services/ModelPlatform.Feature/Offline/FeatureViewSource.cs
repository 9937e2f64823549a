namespace ModelPlatform.Feature.Offline;

/// <summary>
/// A feature view as the point-in-time join reads it: the Parquet files of its data (the versions appended over time,
/// read as one table), the columns that name an entity, when each row became true, and the features to take from it.
/// </summary>
/// <param name="Name">Prefixes the view's output columns, as in Feast's full feature names: <c>{Name}__{feature}</c>.</param>
/// <param name="Files">The view's Parquet files, oldest first; columns are matched by name across them.</param>
/// <param name="JoinKeys">Columns present under the same names in the entity table; a row matches when all are equal.</param>
/// <param name="EventTimestamp">When the row's values became true: the column the join is on.</param>
/// <param name="CreatedTimestamp">When the row was written, which decides between rows with equal event timestamps; optional.</param>
/// <param name="Ttl">How long a row stays usable after its event timestamp, counted back from each entity row's own
/// timestamp and inclusive at the boundary; <see cref="TimeSpan.Zero"/> for no limit. Whole microseconds.</param>
/// <param name="Features">The columns to take, in output order.</param>
public sealed record FeatureViewSource(
    string Name,
    IReadOnlyList<string> Files,
    IReadOnlyList<string> JoinKeys,
    string EventTimestamp,
    string? CreatedTimestamp,
    TimeSpan Ttl,
    IReadOnlyList<string> Features);
