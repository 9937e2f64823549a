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

    /// <summary>
    /// Cancels <paramref name="ml"/> once <paramref name="token"/> is cancelled, and again every 100 ms until disposed: ML.NET
    /// cancels only the components that exist at the time, so a trainer that starts after one call (on a loaded machine,
    /// the featurizer can still be running) would otherwise run to its end.
    /// </summary>
    public static IDisposable When(CancellationToken token, MLContext ml)
    {
        var repeat = new Timer(_ => Cancel(ml));
        var registration = token.Register(() => repeat.Change(TimeSpan.Zero, TimeSpan.FromMilliseconds(100)));
        return new Stop(registration, repeat);
    }

    private sealed class Stop(CancellationTokenRegistration registration, Timer repeat) : IDisposable
    {
        public void Dispose()
        {
            registration.Dispose();
            repeat.Dispose();
        }
    }
}
