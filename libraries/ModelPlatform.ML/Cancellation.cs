using System.Diagnostics;
using System.Reflection;
using Microsoft.ML;

namespace ModelPlatform.ML;

/// <summary>
/// Stops an ML.NET training run. MLContext can cancel a running fit (trainers check between iterations), but the
/// method that does it, <c>MLContext.CancelExecution</c>, is internal, so it is reached by reflection. A unit test
/// (BoundedSearchTests) fails if an ML.NET upgrade moves it, since a search could then no longer keep its budget.
/// </summary>
internal static class Cancellation
{
    private static readonly MethodInfo? CancelExecution = typeof(MLContext).GetMethod(
        "CancelExecution", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, Type.EmptyTypes);

    public static bool IsAvailable => CancelExecution is not null;

    public static void Cancel(MLContext ml) => CancelExecution?.Invoke(ml, null);
}

/// <summary>
/// Cancels an MLContext when its time limit passes or a token is cancelled, and again every tick until disposed: ML.NET
/// cancels only the components that exist at the time, so a trainer that starts after one call would run to its end.
/// It watches from a thread of its own because timers run on the thread pool, which parallel trainers on a loaded
/// machine can starve for minutes (a one-second time limit once fired after more than three).
/// </summary>
internal sealed class FitWatchdog : IDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);
    private readonly ManualResetEventSlim _finished = new();
    private readonly Thread _thread;
    private volatile bool _timedOut;
    private long _limitTicks;

    public FitWatchdog(MLContext ml, TimeSpan limit, CancellationToken cancellationToken)
    {
        _limitTicks = limit.Ticks;
        var clock = Stopwatch.StartNew();
        _thread = new Thread(() =>
        {
            while (!_finished.Wait(Tick))
            {
                if (cancellationToken.IsCancellationRequested || clock.Elapsed.Ticks >= Interlocked.Read(ref _limitTicks))
                {
                    _timedOut = !cancellationToken.IsCancellationRequested;
                    Cancellation.Cancel(ml);
                }
            }
        })
        { IsBackground = true, Name = "ML.NET fit watchdog" };
        _thread.Start();
    }

    /// <summary>Moves the time limit (measured from the start) further out, unless it has passed already.</summary>
    public void ExtendTo(TimeSpan limit)
    {
        if (!_timedOut)
        {
            Interlocked.Exchange(ref _limitTicks, Math.Max(Interlocked.Read(ref _limitTicks), limit.Ticks));
        }
    }

    /// <summary>The time limit, measured from the start.</summary>
    public TimeSpan Limit => TimeSpan.FromTicks(Interlocked.Read(ref _limitTicks));

    /// <summary>Whether the time limit, not the token, stopped the fit.</summary>
    public bool TimedOut => _timedOut;

    public void Dispose()
    {
        _finished.Set();
        _thread.Join();
        _finished.Dispose();
    }
}
