using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Tests;

public class ModelTrainingTests
{
    [Theory]
    [InlineData("LbfgsMaximumEntropy")]
    [InlineData("LightGbm")]
    [InlineData("SdcaMaximumEntropy")]
    [InlineData("OneVersusAllFastTree")]
    public void TrainsIrisWellAboveChance(string trainer)
    {
        var data = TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Multiclass, SampleData.Iris());

        var model = ModelTrainer.Train(data, new TrainingSettings(trainer));

        Assert.True(model.Metrics["macroAccuracy"] > 0.85, $"macro accuracy {model.Metrics["macroAccuracy"]:F3}");
        Assert.Equal(["setosa", "versicolor", "virginica"], model.Signature.Classes);
        Assert.Equal(trainer, model.Trainer);
    }

    [Fact]
    public void PredictsIrisSpeciesByName()
    {
        var model = ModelTrainer.Train(
            TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Multiclass, SampleData.Iris()),
            new TrainingSettings(Trainers.DefaultFor(MLTask.Multiclass)));
        var predictor = ModelPredictor.Load(new MemoryStream(model.Artifact), model.Signature);

        var outcome = predictor.Predict(
        [
            SampleData.Record(("sepal_length", 5.1), ("sepal_width", 3.5), ("petal_length", 1.4), ("petal_width", 0.2)),
            SampleData.Record(("sepal_length", 6.9), ("sepal_width", 3.1), ("petal_length", 5.4), ("petal_width", 2.1)),
        ]);

        Assert.True(outcome.IsValid);
        Assert.Equal("setosa", outcome.Predictions[0].Label);
        Assert.Equal("virginica", outcome.Predictions[1].Label);
        Assert.Equal(1.0, outcome.Predictions[0].Scores!.Values.Sum(), precision: 3);
    }

    [Theory]
    [InlineData("FastTree")]
    [InlineData("LightGbm")]
    [InlineData("FastForest")]
    [InlineData("SdcaLogisticRegression")]
    [InlineData("LbfgsLogisticRegression")]
    public void TrainsBinaryModelOnMixedColumnTypesWithMissingValues(string trainer)
    {
        var data = TrainingData.Create(SampleData.ChurnColumns, "churned", MLTask.Binary, SampleData.Churn(1200));

        var model = ModelTrainer.Train(data, new TrainingSettings(trainer));

        Assert.True(model.Metrics["auc"] > 0.85, $"AUC {model.Metrics["auc"]:F3}");
        Assert.True(model.Metrics["accuracy"] > 0.75, $"accuracy {model.Metrics["accuracy"]:F3}");
        Assert.Equal(["no", "yes"], model.Signature.Classes);
    }

    [Fact]
    public void BinaryPredictionsUseTheDataLabelsAndToleratesUnseenCategories()
    {
        var model = ModelTrainer.Train(
            TrainingData.Create(SampleData.ChurnColumns, "churned", MLTask.Binary, SampleData.Churn(1200)), new TrainingSettings("FastTree"));
        var predictor = ModelPredictor.Load(new MemoryStream(model.Artifact), model.Signature);

        var outcome = predictor.Predict(
        [
            SampleData.Record(("customer_id", "new"), ("tenure", 3), ("plan", "basic"), ("autopay", false),
                ("last_ticket", "cancel my account this is too slow")),
            SampleData.Record(("customer_id", "new"), ("tenure", 55), ("plan", "platinum"), ("autopay", true),
                ("last_ticket", "thanks for the quick help")),
            SampleData.Record(("customer_id", null), ("tenure", null), ("plan", null), ("autopay", null), ("last_ticket", null)),
        ]);

        Assert.True(outcome.IsValid);
        Assert.Equal("yes", outcome.Predictions[0].Label);
        Assert.True(outcome.Predictions[0].Probability > 0.5);
        Assert.Equal("no", outcome.Predictions[1].Label);
        Assert.True(outcome.Predictions[1].Probability < 0.5);
        Assert.Contains(outcome.Predictions[2].Label, new object[] { "yes", "no" });
    }

    [Theory]
    [InlineData("FastTree")]
    [InlineData("LightGbm")]
    [InlineData("FastForest")]
    [InlineData("Sdca")]
    public void TrainsRegressionWithHighRSquared(string trainer)
    {
        var data = TrainingData.Create(SampleData.PriceColumns, "price", MLTask.Regression, SampleData.Prices(800));

        var model = ModelTrainer.Train(data, new TrainingSettings(trainer));

        Assert.True(model.Metrics["r2"] > 0.85, $"R² {model.Metrics["r2"]:F3}");
        Assert.Contains("rmse", model.Metrics.Keys);
        Assert.Contains("mae", model.Metrics.Keys);
    }

    [Fact]
    public void RegressionPredictsValuesOnTheLabelScale()
    {
        var model = ModelTrainer.Train(
            TrainingData.Create(SampleData.PriceColumns, "price", MLTask.Regression, SampleData.Prices(800)), new TrainingSettings("FastTree"));
        var predictor = ModelPredictor.Load(new MemoryStream(model.Artifact), model.Signature);

        var prediction = predictor.Predict([SampleData.Record(("area", 100.0), ("rooms", 3), ("district", "centre"))]).Predictions.Single();

        // 3 × 100 + 10 × 3 + 120 + noise of about 5.
        Assert.InRange(prediction.Value!.Value, 400, 500);
        Assert.Null(prediction.Label);
    }

    [Fact]
    public void NumericClassLabelsComeBackAsNumbers()
    {
        var numbered = SampleData.Iris().Select(row => (IReadOnlyDictionary<string, System.Text.Json.JsonElement>)row.ToDictionary(
            pair => pair.Key,
            pair => pair.Key == "species"
                ? System.Text.Json.JsonSerializer.SerializeToElement(Array.IndexOf(["setosa", "versicolor", "virginica"], pair.Value.GetString()) + 1)
                : pair.Value)).ToList();
        var columns = SampleData.IrisColumns.Select(c => c.Name == "species" ? c with { Type = ColumnType.Numeric } : c).ToList();
        var model = ModelTrainer.Train(TrainingData.Create(columns, "species", MLTask.Multiclass, numbered), new TrainingSettings("LbfgsMaximumEntropy"));
        var predictor = ModelPredictor.Load(new MemoryStream(model.Artifact), model.Signature);

        var label = predictor.Predict([SampleData.Record(("sepal_length", 5.1), ("sepal_width", 3.5), ("petal_length", 1.4), ("petal_width", 0.2))])
            .Predictions.Single().Label;

        Assert.Equal(1L, label);
    }

    [Fact]
    public void BooleanClassLabelsComeBackAsBooleans()
    {
        var rows = SampleData.Churn(600).Select(row => (IReadOnlyDictionary<string, System.Text.Json.JsonElement>)row.ToDictionary(
            pair => pair.Key,
            pair => pair.Key == "churned" ? System.Text.Json.JsonSerializer.SerializeToElement(pair.Value.GetString() == "yes") : pair.Value)).ToList();
        var columns = SampleData.ChurnColumns.Select(c => c.Name == "churned" ? c with { Type = ColumnType.Boolean } : c).ToList();
        var model = ModelTrainer.Train(TrainingData.Create(columns, "churned", MLTask.Binary, rows), new TrainingSettings("FastTree"));
        var predictor = ModelPredictor.Load(new MemoryStream(model.Artifact), model.Signature);

        var label = predictor.Predict([SampleData.AsRecord(rows[0], "churned")]).Predictions.Single().Label;

        Assert.IsType<bool>(label);
        Assert.Equal(["false", "true"], model.Signature.Classes);
    }

    [Fact]
    public void TrainingIsReproducibleForTheSameSeed()
    {
        var data = TrainingData.Create(SampleData.ChurnColumns, "churned", MLTask.Binary, SampleData.Churn(600));
        var first = ModelTrainer.Train(data, new TrainingSettings("FastTree"));
        var second = ModelTrainer.Train(data, new TrainingSettings("FastTree"));

        Assert.Equal(first.Metrics, second.Metrics);
    }
}
