namespace ModelPlatform.ML.Tests;

/// <summary>Budgets for searches whose tests are not about the budget.</summary>
internal static class SearchBudget
{
    /// <summary>
    /// A budget whose per-trial share (a quarter) no trial of these small sets comes near, even with the other test
    /// assemblies loading the machine: what such a test checks must not depend on how fast the machine is that day.
    /// Searches given it also cap their trials, so they still end as soon as the work is done.
    /// </summary>
    public const int NeverRunsOut = 1200;
}
