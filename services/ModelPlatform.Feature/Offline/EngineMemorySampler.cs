using System.Data;
using DuckDB.NET.Data;

namespace ModelPlatform.Feature.Offline;

/// <summary>
/// Watches how much memory DuckDB's buffer manager holds while a query runs, from a second connection to the same
/// database (a connection runs one query at a time), and keeps the most it saw.
/// </summary>
internal sealed class EngineMemorySampler : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly DuckDBConnection _connection;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private long _peakBytes;

    public EngineMemorySampler(DuckDBConnection connection)
    {
        _connection = connection.Duplicate();
        if (_connection.State != ConnectionState.Open)
        {
            _connection.Open();
        }

        _sampling = Task.Run(SampleAsync);
    }

    /// <summary>Stops sampling, and returns the most memory seen in use.</summary>
    public long Stop()
    {
        _stop.Cancel();
        _sampling.GetAwaiter().GetResult();
        return _peakBytes;
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
                command.CommandText = "SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT FROM duckdb_memory()";
                _peakBytes = Math.Max(_peakBytes, (long)command.ExecuteScalar()!);
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
