using System.Diagnostics;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Tests;

/// <summary>
/// The search's budget is wall-clock time, so these tests run with no other test of this assembly beside them: in
/// parallel, the others' training paused this process for GC for over two seconds of a twenty-second search.
/// </summary>
[Collection(WallClock.Name)]
public class SearchBudgetTests
{
    [Fact]
    public void SearchEndsWithinItsBudgetWhenATrainerIsSlowForTheData()
    {
        // 2,000 deep trees on 3,200 rows take minutes on any machine; L-BFGS takes about a second for five folds.
        var data = BoundedSearchTests.NoisyData(MLTask.Binary, rows: 4_000);
        var slow = Trainers.Find(MLTask.Binary, "FastForest")! with { Hyperparameters = [.. BoundedSearchTests.Fixed(MLTask.Binary, "FastForest")] };
        var fast = Trainers.Find(MLTask.Binary, "LbfgsLogisticRegression")!;
        var search = new AutoSearch(data, new TrainingSettings(Trainers.Auto, BudgetSeconds: 20), null, [slow, fast]);

        var pausedBefore = GC.GetTotalPauseDuration();
        var clock = Stopwatch.StartNew();
        var leaderboard = BoundedSearchTests.Run(search, data);

        var paused = GC.GetTotalPauseDuration() - pausedBefore;
        Assert.True(
            clock.Elapsed.TotalSeconds <= 20 + 1.5,
            $"the search took {clock.Elapsed.TotalSeconds:F1} s of a 20 s budget, {paused.TotalSeconds:F1} s of it paused for GC");
        // Having not finished one fold within its limit, the slow trainer is not proposed again.
        var stopped = Assert.Single(leaderboard, trial => trial.Trainer == "FastForest");
        Assert.StartsWith("stopped at its time limit of", stopped.Stopped);
        Assert.True(stopped.Seconds <= 20 * AutoSearch.TrialShareOfBudget + 1.5, $"trial {stopped.Trial} took {stopped.Seconds:F1} s");
        Assert.Equal("LbfgsLogisticRegression", search.Best!.Trainer);
    }

    [Fact]
    public void NoCandidateIsBestWhenNoneFinishesAFold()
    {
        var data = BoundedSearchTests.NoisyData(MLTask.Binary, rows: 4_000);
        var slow = Trainers.Find(MLTask.Binary, "FastForest")! with { Hyperparameters = [.. BoundedSearchTests.Fixed(MLTask.Binary, "FastForest")] };
        var search = new AutoSearch(data, new TrainingSettings(Trainers.Auto, BudgetSeconds: 2), null, [slow]);

        var leaderboard = BoundedSearchTests.Run(search, data);

        Assert.Null(search.Best);
        Assert.All(leaderboard, trial => Assert.Equal((0, null), (trial.FoldsScored, trial.Mean)));
    }
}

/// <summary>Tests that measure wall-clock time run alone, after the others: beside them, their training takes the cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class WallClock
{
    public const string Name = "wall clock";
}
