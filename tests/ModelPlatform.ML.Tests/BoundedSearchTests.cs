using System.Diagnostics;
using Microsoft.ML;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Tests;

/// <summary>The search keeps its budget: every trainer stops when its trial's time is up, and a slow one costs only its share.</summary>
public class BoundedSearchTests
{
    // A trainer that ignored its time limit would run these settings for minutes; a stop is seen within a second or two.
    private static readonly TimeSpan StopAfter = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);

    private static readonly Dictionary<string, double> Slowest = new()
    {
        ["numberOfTrees"] = 2000,
        ["numberOfIterations"] = 2000,
        ["numberOfLeaves"] = 512,
        ["minimumExampleCountPerLeaf"] = 1,
        ["learningRate"] = 0.001,
        ["maximumNumberOfIterations"] = 1000,
        ["l2Regularization"] = 1e-6,
        ["l1Regularization"] = 0,
    };

    public static TheoryData<MLTask, string> EveryTrainer()
    {
        var data = new TheoryData<MLTask, string>();
        foreach (var task in new[] { MLTask.Binary, MLTask.Multiclass, MLTask.Regression })
        {
            foreach (var name in Trainers.NamesFor(task))
            {
                data.Add(task, name);
            }
        }

        return data;
    }

    [Fact]
    public void CancellationReachesMLNet() => Assert.True(Cancellation.IsAvailable, "MLContext.CancelExecution is gone; trials and jobs cannot be stopped");

    [Theory]
    [MemberData(nameof(EveryTrainer))]
    public void EveryTrainerStopsWhenItsContextIsCancelled(MLTask task, string name)
    {
        var data = NoisyData(task, rows: 20_000);
        var trainer = Trainers.Find(task, name)!;
        var settings = Slowest.Where(pair => trainer.Hyperparameters.Any(p => p.Name == pair.Key)).ToDictionary();
        var ml = new MLContext(1);
        var pipeline = PipelineFactory.Create(ml, data.Signature, trainer, settings, threads: 1);
        var prepared = PipelineFactory.PrepareLabel(ml, data.View, task);
        using var watchdog = new FitWatchdog(ml, StopAfter, CancellationToken.None);

        var clock = Stopwatch.StartNew();
        var error = Record.Exception(() => pipeline.Fit(prepared));

        // A trainer may converge before the stop (L-BFGS on this data does); what must not happen is a run past it.
        Assert.True(error is null || IsCancellation(error), $"{task} {name} failed: {error}");
        Assert.True(clock.Elapsed < StopAfter + Grace, $"{task} {name} stopped {clock.Elapsed.TotalSeconds:F1} s after it started, asked at {StopAfter}");
    }

    [Fact]
    public void SearchEndsWithinItsBudgetWhenATrainerIsSlowForTheData()
    {
        // 2,000 deep trees on 3,200 rows take minutes on any machine; L-BFGS takes about a second for five folds.
        var data = NoisyData(MLTask.Binary, rows: 4_000);
        var slow = Trainers.Find(MLTask.Binary, "FastForest")! with { Hyperparameters = [.. Fixed(MLTask.Binary, "FastForest")] };
        var fast = Trainers.Find(MLTask.Binary, "LbfgsLogisticRegression")!;
        var search = new AutoSearch(data, new TrainingSettings(Trainers.Auto, BudgetSeconds: 20), null, [slow, fast]);

        var clock = Stopwatch.StartNew();
        var leaderboard = Run(search, data);

        Assert.True(clock.Elapsed.TotalSeconds <= 20 + 1.5, $"the search took {clock.Elapsed.TotalSeconds:F1} s of a 20 s budget");
        // Having not finished one fold within its limit, the slow trainer is not proposed again.
        var stopped = Assert.Single(leaderboard, trial => trial.Trainer == "FastForest");
        Assert.StartsWith("stopped at its time limit of", stopped.Stopped);
        Assert.True(stopped.Seconds <= 20 * AutoSearch.TrialShareOfBudget + 1.5, $"trial {stopped.Trial} took {stopped.Seconds:F1} s");
        Assert.Equal("LbfgsLogisticRegression", search.Best!.Trainer);
    }

    [Fact]
    public void NoCandidateIsBestWhenNoneFinishesAFold()
    {
        var data = NoisyData(MLTask.Binary, rows: 4_000);
        var slow = Trainers.Find(MLTask.Binary, "FastForest")! with { Hyperparameters = [.. Fixed(MLTask.Binary, "FastForest")] };
        var search = new AutoSearch(data, new TrainingSettings(Trainers.Auto, BudgetSeconds: 2), null, [slow]);

        var leaderboard = Run(search, data);

        Assert.Null(search.Best);
        Assert.All(leaderboard, trial => Assert.Equal((0, null), (trial.FoldsScored, trial.Mean)));
    }

    /// <summary>A trainer's settings with the slowest values as their defaults, so the search's candidates are all slow.</summary>
    private static IEnumerable<Hyperparameter> Fixed(MLTask task, string name) =>
        Trainers.Find(task, name)!.Hyperparameters.Select(parameter => Slowest.TryGetValue(parameter.Name, out var value)
            ? parameter with { Min = value, Max = value, Default = value }
            : parameter);

    private static IReadOnlyList<SearchTrial> Run(AutoSearch search, TrainingData data)
    {
        var ml = new MLContext(1);
        return search.Run(ml, ml.Data.Cache(PipelineFactory.PrepareLabel(ml, data.View, data.Signature.Task)), CancellationToken.None);
    }

    private static bool IsCancellation(Exception error) =>
        error is OperationCanceledException || (error is AggregateException many && many.InnerExceptions.All(IsCancellation));

    /// <summary>Random labels (so no trainer converges early) over 20 numeric columns.</summary>
    private static TrainingData NoisyData(MLTask task, int rows)
    {
        var random = new Random(5);
        var label = new ColumnSchema("y", task == MLTask.Regression ? ColumnType.Numeric : ColumnType.Categorical);
        var columns = Enumerable.Range(0, 20).Select(i => new ColumnSchema($"x{i}", ColumnType.Numeric)).Append(label).ToList();
        var values = Enumerable.Range(0, rows).Select(_ => SampleData.Row([
            .. Enumerable.Range(0, 20).Select(i => ($"x{i}", (object?)random.NextDouble())),
            ("y", task switch
            {
                MLTask.Binary => random.Next(2) == 0 ? "a" : "b",
                MLTask.Multiclass => $"c{random.Next(4)}",
                _ => (object?)random.NextDouble(),
            })])).ToList();
        return TrainingData.Create(columns, "y", task, values);
    }
}
