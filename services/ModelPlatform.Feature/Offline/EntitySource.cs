namespace ModelPlatform.Feature.Offline;

/// <summary>
/// The entity table of a point-in-time join (Feast's entity dataframe): join-key columns, the timestamp each row is
/// asked about, and anything else (labels), all of which reach the output unchanged and in their order.
/// </summary>
/// <param name="Files">The table's Parquet files, read as one table in this order; columns are matched by name.</param>
/// <param name="EventTimestamp">The column holding the time at which each row wants its feature values.</param>
public sealed record EntitySource(IReadOnlyList<string> Files, string EventTimestamp);
