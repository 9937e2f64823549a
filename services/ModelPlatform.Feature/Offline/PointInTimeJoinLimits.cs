namespace ModelPlatform.Feature.Offline;

/// <summary>What one point-in-time join may use of the machine. Beyond <paramref name="MemoryLimitBytes"/> DuckDB spills to the scratch folder.</summary>
/// <param name="MemoryLimitBytes">DuckDB's <c>memory_limit</c>; the process needs some more besides (the Parquet readers, .NET).</param>
/// <param name="Threads">DuckDB's worker threads.</param>
public sealed record PointInTimeJoinLimits(long MemoryLimitBytes, int Threads)
{
    /// <summary>1 GiB and every core: a million entity rows against three views of a million rows fit without spilling.</summary>
    public static PointInTimeJoinLimits Default => new(1L << 30, Environment.ProcessorCount);
}
