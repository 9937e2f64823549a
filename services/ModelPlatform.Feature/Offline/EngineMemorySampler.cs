using System.Data;
using DuckDB.NET.Data;

namespace ModelPlatform.Feature.Offline;

/// <summary>
/// Watches how much memory DuckDB's buffer manager holds, and how much it has spilled to disk, while queries run: from a
/// second connection to the same database (a connection runs one query at a time), keeping the most it saw of each.
/// </summary>
internal sealed class EngineMemorySampler : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly DuckDBConnection _connection;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private long _peakBytes;
    private long _peakSpilledBytes;

    public EngineMemorySampler(DuckDBConnection connection)
    {
        _connection = connection.Duplicate();
        if (_connection.State != ConnectionState.Open)
        {
            _connection.Open();
        }

        _sampling = Task.Run(SampleAsync);
    }

    /// <summary>Stops sampling, and returns the most memory seen in use and the most seen spilled.</summary>
    public (long PeakBytes, long PeakSpilledBytes) Stop()
    {
        _stop.Cancel();
        _sampling.GetAwaiter().GetResult();
        return (_peakBytes, _peakSpilledBytes);
    }

    public void Dispose()
    {
        Stop();
        _stop.Dispose();
        _connection.Dispose();
    }

    private async Task SampleAsync()
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            do
            {
                using var command = _connection.CreateCommand();
                command.CommandText = """
                    SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT, coalesce(sum(temporary_storage_bytes), 0)::BIGINT FROM duckdb_memory()
                    """;
                using var reader = command.ExecuteReader();
                reader.Read();
                _peakBytes = Math.Max(_peakBytes, reader.GetInt64(0));
                _peakSpilledBytes = Math.Max(_peakSpilledBytes, reader.GetInt64(1));
            }
            while (await timer.WaitForNextTickAsync(_stop.Token));
        }
        catch (OperationCanceledException)
        {
        }
        catch (DuckDBException)
        {
            // A figure for reports, not a reason to fail the join it watches: sampling ends, and the peak so far stands.
        }
    }
}
