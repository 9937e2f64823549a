using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Tests;

/// <summary>A new model and a baseline scored on the same hold-out, as a pipeline's gate compares them.</summary>
public class HoldOutComparisonTests
{
    [Fact]
    public void BothModelsAreScoredOnTheHoldOutAndTheCandidatesNumbersAreItsOwnMetrics()
    {
        var data = TrainingData.Create(SampleData.ChurnColumns, "churned", MLTask.Binary, SampleData.Churn(1200));
        var weak = ModelTrainer.Train(data, new TrainingSettings("LbfgsLogisticRegression", Seed: 3));
        using var baseline = ModelPredictor.Load(new MemoryStream(weak.Artifact), weak.Signature);

        var trained = ModelTrainer.Train(data, new TrainingSettings("FastTree"), baseline: baseline);

        var comparison = trained.Comparison!;
        Assert.Null(comparison.Problem);
        Assert.Equal(trained.Evaluation.Rows, comparison.Rows);
        // Scored through the served path, the candidate measures as its own evaluation did.
        Assert.Equal(trained.Metrics["auc"], comparison.Candidate!["auc"], 4);
        Assert.Equal(trained.Metrics["accuracy"], comparison.Candidate["accuracy"], 4);
        Assert.NotEqual(comparison.Candidate["auc"], comparison.Baseline!["auc"]);
        // Each class's recall, for both.
        foreach (var metrics in new[] { comparison.Candidate, comparison.Baseline })
        {
            Assert.InRange(metrics["perClass.yes.recall"], 0, 1);
            Assert.InRange(metrics["perClass.no.recall"], 0, 1);
        }
    }

    [Fact]
    public void AMulticlassBaselineIsScoredByClassNameAndSmallDataIsNotComparedAtAll()
    {
        var iris = TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Multiclass, SampleData.Iris());
        var first = ModelTrainer.Train(iris, new TrainingSettings("LbfgsMaximumEntropy"));
        using var baseline = ModelPredictor.Load(new MemoryStream(first.Artifact), first.Signature);
        // 150 rows hold out 30, fewer than a hold-out needs: the model is cross-validated, and nothing is compared.
        var small = ModelTrainer.Train(iris, new TrainingSettings("LightGbm"), baseline: baseline);
        var larger = TrainingData.Create(
            SampleData.IrisColumns, "species", MLTask.Multiclass, [.. Enumerable.Repeat(SampleData.Iris(), 3).SelectMany(rows => rows)]);

        var compared = ModelTrainer.Train(larger, new TrainingSettings("LightGbm"), baseline: baseline).Comparison!;

        Assert.Contains("too few to hold any out", small.Comparison!.Problem);
        Assert.Null(compared.Problem);
        Assert.Equal(["perClass.setosa.recall", "perClass.versicolor.recall", "perClass.virginica.recall"],
            compared.Baseline!.Keys.Where(name => name.EndsWith(".recall", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.True(compared.Baseline["macroAccuracy"] > 0.9, $"the baseline's macro accuracy {compared.Baseline["macroAccuracy"]:F3}");
    }

    [Fact]
    public void ABaselineThatReadsAColumnTheDataNoLongerHasCannotBeCompared()
    {
        var prices = TrainingData.Create(SampleData.PriceColumns, "price", MLTask.Regression, SampleData.Prices(400));
        var old = ModelTrainer.Train(prices, new TrainingSettings("Sdca"));
        using var baseline = ModelPredictor.Load(new MemoryStream(old.Artifact), old.Signature);
        var dropped = SampleData.PriceColumns[0].Name;
        var fewer = TrainingData.Create([.. SampleData.PriceColumns.Skip(1)], "price", MLTask.Regression,
            [.. SampleData.Prices(400).Select(row => row.Where(cell => cell.Key != dropped).ToDictionary())]);

        var comparison = ModelTrainer.Train(fewer, new TrainingSettings("Sdca"), baseline: baseline).Comparison!;

        Assert.Equal($"the baseline reads the column '{dropped}' (numeric), which the rows no longer have", comparison.Problem);
    }
}
