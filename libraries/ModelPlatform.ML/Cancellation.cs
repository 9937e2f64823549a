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
