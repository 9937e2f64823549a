using System.Reflection;
using Microsoft.ML;

namespace ModelPlatform.ML;

/// <summary>
/// Stops an ML.NET training run. MLContext can cancel a running fit (trainers check between iterations),
/// but the interface that does it (Microsoft.ML.Runtime.ICancelable) is internal, so it is reached by
/// reflection. Where it cannot be found, callers still stop waiting; the fit just runs to its end unseen.
/// </summary>
internal static class Cancellation
{
    private static readonly MethodInfo? CancelExecution = typeof(MLContext)
        .GetInterfaces()
        .FirstOrDefault(type => type.FullName == "Microsoft.ML.Runtime.ICancelable")
        ?.GetMethod("CancelExecution");

    public static void Cancel(MLContext ml) => CancelExecution?.Invoke(ml, null);
}
