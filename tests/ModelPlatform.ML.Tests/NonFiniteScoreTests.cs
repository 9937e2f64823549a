using System.Text.Json;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Tests;

/// <summary>Data on which a score is infinite or undefined: every metric and leaderboard value still goes out as JSON.</summary>
public class NonFiniteScoreTests
{
    private static readonly IReadOnlyList<ColumnSchema> SignalColumns =
        [new("signal", ColumnType.Numeric), new("noise", ColumnType.Numeric), new("constant", ColumnType.Numeric), new("label", ColumnType.Categorical)];

    /// <summary>
    /// The label follows <c>signal</c> exactly (perfectly separable), except every <paramref name="flipEvery"/>-th row,
    /// whose label is the other one; <c>constant</c> never varies.
    /// </summary>
    private static List<IReadOnlyDictionary<string, JsonElement>> Separable(int count, int flipEvery = int.MaxValue)
    {
        var random = new Random(1);
        return [.. Enumerable.Range(0, count).Select(i => SampleData.Row(
            ("signal", (i % 2 == 0 ? 100 : 0) + random.NextDouble()),
            ("noise", random.NextDouble()),
            ("constant", 1.0),
            ("label", (i % 2 == 0) ^ (i % flipEvery == 0) ? "yes" : "no")))];
    }

    [Fact]
    public void AConfidentWrongAnswerGivesAFiniteLogLoss()
    {
        // FastTree answers these rows with a probability that rounds to exactly 1 as a float; a few labels contradict it.
        var data = TrainingData.Create(SignalColumns, "label", MLTask.Binary, Separable(400, flipEvery: 37));

        var model = ModelTrainer.Train(data, new TrainingSettings("FastTree"));

        // Clipped at 1e-15, a wrong answer costs about 50 bits, so the hold-out's few wrong rows give a large finite loss.
        Assert.InRange(model.Metrics["logLoss"], 0.1, 50);
        Assert.All(model.Metrics, metric => Assert.True(double.IsFinite(metric.Value), $"{metric.Key} = {metric.Value}"));
        JsonSerializer.Serialize(model.Metrics);
    }

    [Fact]
    public void APerfectlySeparableSetWithAConstantFeatureIsSearchedToTheEnd()
    {
        var data = TrainingData.Create(SignalColumns, "label", MLTask.Binary, Separable(300));

        var model = ModelTrainer.Train(
            data, new TrainingSettings(Trainers.Auto, BudgetSeconds: SearchBudget.NeverRunsOut, Metric: "logLoss", MaxTrials: 6, Folds: 3));

        Assert.Contains(model.DroppedColumns, dropped => dropped.Name == "constant");
        Assert.Equal(1, model.Metrics["accuracy"]);
        AssertWritable(model);
    }

    [Fact]
    public void ATrialWithNoFiniteScoreIsRecordedWithItsErrorAndTheSearchGoesOn()
    {
        var data = TrainingData.Create(SignalColumns, "label", MLTask.Binary, Separable(300, flipEvery: 37));

        // FastForest is not calibrated: it has no probability, so no log-loss to rank it by.
        var model = ModelTrainer.Train(
            data, new TrainingSettings(Trainers.Auto, BudgetSeconds: SearchBudget.NeverRunsOut, Metric: "logLoss", MaxTrials: 6, Folds: 3));

        var forest = Assert.Single(model.Leaderboard!, trial => trial.Trainer == "FastForest");
        Assert.Null(forest.Mean);
        // 240 training rows: the three folds are repeated three times.
        Assert.Equal("FastForest has no finite logLoss on fold 1 of 9.", forest.Error);
        Assert.Contains(model.Leaderboard!, trial => trial.Mean is not null);
        AssertWritable(model);
    }

    [Fact]
    public void AClassSeenInOneFoldOnlyLeavesEveryNumberFinite()
    {
        // Two rows of a third class: at most one fold's hold-out, and perhaps not the final hold-out, holds one.
        var rows = SampleData.Iris().Take(100).ToList();
        rows.Add(SampleData.Row(("sepal_length", 7.0), ("sepal_width", 3.0), ("petal_length", 6.0), ("petal_width", 2.0), ("species", "rare")));
        rows.Add(SampleData.Row(("sepal_length", 7.1), ("sepal_width", 3.1), ("petal_length", 6.1), ("petal_width", 2.1), ("species", "rare")));
        var data = TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Multiclass, rows);

        var model = ModelTrainer.Train(data, new TrainingSettings(Trainers.Auto, BudgetSeconds: SearchBudget.NeverRunsOut, MaxTrials: 5, Folds: 3));

        Assert.Contains("perClass.rare.recall", model.Metrics.Keys);
        AssertWritable(model);
    }

    [Fact]
    public void ALabelThatNeverVariesHasAFiniteR2()
    {
        var rows = SampleData.Prices(100).Select(row => (IReadOnlyDictionary<string, JsonElement>)new Dictionary<string, JsonElement>(row)
        {
            ["price"] = JsonSerializer.SerializeToElement(250.0),
        }).ToList();
        var data = TrainingData.Create(SampleData.PriceColumns, "price", MLTask.Regression, rows);

        var model = ModelTrainer.Train(data, new TrainingSettings("FastTree"));

        Assert.Contains(model.Metrics["r2"], new[] { 0.0, 1.0 });
        AssertWritable(model);
    }

    /// <summary>Every number of the model's metrics and leaderboard is finite, so the job's report serializes.</summary>
    private static void AssertWritable(TrainedModel model)
    {
        Assert.All(model.Metrics, metric => Assert.True(double.IsFinite(metric.Value), $"{metric.Key} = {metric.Value}"));
        Assert.All(model.Leaderboard ?? [], trial => Assert.True(
            double.IsFinite(trial.Mean ?? 0) && double.IsFinite(trial.StandardDeviation ?? 0),
            $"trial {trial.Trial} ({trial.Trainer}): mean {trial.Mean}, std {trial.StandardDeviation}"));
        JsonSerializer.Serialize(new { model.Metrics, model.Leaderboard });
    }
}
