namespace ModelPlatform.Feature.Offline;

/// <summary>What a point-in-time join wrote.</summary>
/// <param name="Rows">Rows written: always the number of entity rows.</param>
/// <param name="Elapsed">From opening DuckDB to the output file being in place.</param>
/// <param name="Columns">The output file's columns: the entity table's, then <c>{view}__{feature}</c> for each feature requested.</param>
/// <param name="PeakEngineMemoryBytes">The most memory DuckDB's buffer manager was seen holding (sampled, so a lower bound).</param>
/// <param name="PeakSpilledBytes">The most DuckDB was seen keeping in the scratch folder; above zero, a larger memory limit would be faster.</param>
public sealed record PointInTimeJoinResult(
    long Rows, TimeSpan Elapsed, IReadOnlyList<ParquetColumn> Columns, long PeakEngineMemoryBytes, long PeakSpilledBytes);

/// <summary>A column of a Parquet file, with its DuckDB type (for example <c>DOUBLE</c> or <c>TIMESTAMP WITH TIME ZONE</c>).</summary>
public sealed record ParquetColumn(string Name, string Type);
