using System.Diagnostics;
using Microsoft.ML;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Tests;

/// <summary>
/// Every trainer stops when its trial's time is up; <see cref="SearchBudgetTests"/> checks the search around them. The
/// stops are timed, so these run alone (<see cref="WallClock"/>): beside the assembly's other training, LightGBM once
/// stopped only eleven seconds after it started.
/// </summary>
[Collection(WallClock.Name)]
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

    /// <summary>A trainer's settings with the slowest values as their defaults, so the search's candidates are all slow.</summary>
    internal static IEnumerable<Hyperparameter> Fixed(MLTask task, string name) =>
        Trainers.Find(task, name)!.Hyperparameters.Select(parameter => Slowest.TryGetValue(parameter.Name, out var value)
            ? parameter with { Min = value, Max = value, Default = value }
            : parameter);

    internal static IReadOnlyList<SearchTrial> Run(AutoSearch search, TrainingData data)
    {
        var ml = new MLContext(1);
        return search.Run(ml, ml.Data.Cache(PipelineFactory.PrepareLabel(ml, data.View, data.Signature.Task)), CancellationToken.None);
    }

    private static bool IsCancellation(Exception error) =>
        error is OperationCanceledException || (error is AggregateException many && many.InnerExceptions.All(IsCancellation));

    /// <summary>Random labels (so no trainer converges early) over 20 numeric columns.</summary>
    internal static TrainingData NoisyData(MLTask task, int rows)
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
