using Microsoft.ML;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Tests;

/// <summary>
/// Each trained version is exported to ONNX where ML.NET's converter allows, and the export answers as the ML.NET model does
/// (to 1e-5) on rows neither saw in training; where it cannot be exported, the version says why.
/// </summary>
public sealed class OnnxExportTests
{
    [Theory]
    [InlineData("FastTree")]
    [InlineData("LightGbm")]
    [InlineData("Sdca")]
    public void APriceModelOnNumbersAndACategoryExportsAndAnswersAsTheMLNetModel(string trainer)
    {
        var data = TrainingData.Create(SampleData.PriceColumns, "price", MLTask.Regression, SampleData.Prices(600));
        var model = ModelTrainer.Train(data, new TrainingSettings(trainer));

        AssertSameAnswers(model, SampleData.Prices(300, seed: 99), "price");
    }

    [Theory]
    [InlineData("LbfgsMaximumEntropy")]
    [InlineData("LightGbm")]
    public void AnIrisClassifierExportsWithEachClassScore(string trainer)
    {
        var data = TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Multiclass, SampleData.Iris());
        var model = ModelTrainer.Train(data, new TrainingSettings(trainer));

        Assert.Equal("Score.output", model.OnnxExport!.Binding!.Output);
        AssertSameAnswers(model, SampleData.Iris(), "species");
    }

    [Fact]
    public void AModelOnFreeTextSaysWhyItHasNoExport()
    {
        var data = TrainingData.Create(SampleData.ChurnColumns, "churned", MLTask.Binary, SampleData.Churn(400));

        var model = ModelTrainer.Train(data, new TrainingSettings("LbfgsLogisticRegression"));

        Assert.Null(model.OnnxExport!.Graph);
        Assert.StartsWith("ML.NET's ONNX converter cannot export the featurization of free text (column 'last_ticket')", model.OnnxExport.Reason);
    }

    [Fact]
    public void AnEnsembleSaysWhyItHasNoExport()
    {
        var data = TrainingData.Create(SampleData.PriceColumns, "price", MLTask.Regression, SampleData.Prices(200));
        var ml = new MLContext(1);
        var fitted = PipelineFactory.Create(ml, data.Signature, Trainers.Find(MLTask.Regression, "FastTree")!).Fit(data.View);

        var export = OnnxExport.Export(ml, [(fitted, 0.5), (fitted, 0.5)], data.Signature, [], data.View);

        Assert.Equal("The version is an ensemble of 2 pipelines; ML.NET's converter exports one pipeline, not their weighted average.", export.Reason);
    }

    [Fact]
    public void TheLargestDifferenceIsFoundInAnyAnswer()
    {
        Prediction[] expected = [new(Probability: 0.5f), new(Probability: 0.25f)];
        Prediction[] actual = [new(Probability: 0.5f), new(Probability: 0.2501f)];
        Prediction[] scores = [new(Scores: new Dictionary<string, float> { ["a"] = 0.1f, ["b"] = 0.9f })];
        Prediction[] otherScores = [new(Scores: new Dictionary<string, float> { ["a"] = 0.1f, ["b"] = 0.7f })];

        Assert.Equal(0.0001, OnnxExport.LargestDifference(expected, actual), 1e-6);
        Assert.Equal(0.2, OnnxExport.LargestDifference(scores, otherScores), 1e-6);
        Assert.Equal(double.PositiveInfinity, OnnxExport.LargestDifference(expected, [new(Value: 1), new(Value: 2)]));
        // A value above 1 is compared relative to itself: a float cannot hold 500.0002 and 500.0001 apart.
        Assert.Equal(2e-4 / 500, OnnxExport.LargestDifference([new(Value: 500f)], [new(Value: 500.0002f)]), 1e-7);
    }

    /// <summary>The export, served on ONNX Runtime from the user's columns, gives the ML.NET model's answers to 1e-5.</summary>
    private static void AssertSameAnswers(TrainedModel model, IEnumerable<IReadOnlyDictionary<string, System.Text.Json.JsonElement>> rows, string label)
    {
        var export = model.OnnxExport!;
        Assert.Null(export.Reason);
        var mlnet = ModelPredictor.Load(new MemoryStream(model.Artifact), model.Signature);
        var onnx = ModelPredictor.Load(new MemoryStream(export.Graph!), model.Signature, export.Binding);
        var (records, errors) = mlnet.Read([.. rows.Select(row => SampleData.AsRecord(row, label))]);
        Assert.Empty(errors);

        var expected = mlnet.Predict(records);
        var actual = onnx.Predict(records);

        Assert.InRange(OnnxExport.LargestDifference(expected, actual), 0, OnnxExport.Tolerance);
        Assert.Equal(expected.Select(prediction => prediction.Label), actual.Select(prediction => prediction.Label));
    }
}
