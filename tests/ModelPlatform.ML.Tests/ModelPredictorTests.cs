using System.Text.Json;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML.Tests;

public class ModelPredictorTests
{
    private static readonly Lazy<ModelPredictor> Churn = new(() =>
    {
        var model = ModelTrainer.Train(
            TrainingData.Create(SampleData.ChurnColumns, "churned", MLTask.Binary, SampleData.Churn(600)), new TrainingSettings("LbfgsLogisticRegression"));
        return ModelPredictor.Load(new MemoryStream(model.Artifact), model.Signature);
    });

    [Fact]
    public void ListsEveryProblemKeyedByRecordAndColumn()
    {
        var outcome = Churn.Value.Predict(
        [
            SampleData.Record(("customer_id", "c1"), ("tenure", "long"), ("plan", "pro"), ("autopay", "yes"), ("last_ticket", "ok")),
            SampleData.Record(("customer_id", "c2"), ("plan", "pro"), ("autopay", true), ("last_ticket", new[] { "a" })),
            JsonSerializer.SerializeToElement(42),
        ]);

        Assert.False(outcome.IsValid);
        Assert.Empty(outcome.Predictions);
        Assert.Equal(
            ["records[0].autopay", "records[0].tenure", "records[1].last_ticket", "records[1].tenure", "records[2]"],
            outcome.Errors.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("expected a number", outcome.Errors["records[0].tenure"][0]);
        Assert.Contains("expected true, false or null", outcome.Errors["records[0].autopay"][0]);
        Assert.Contains("is missing", outcome.Errors["records[1].tenure"][0]);
        Assert.Contains("must be an object", outcome.Errors["records[2]"][0]);
    }

    [Fact]
    public void IgnoresColumnsTheModelDoesNotUse()
    {
        var outcome = Churn.Value.Predict(
        [
            SampleData.Record(("customer_id", "c1"), ("tenure", 4), ("plan", "pro"), ("autopay", true), ("last_ticket", "ok"), ("churned", "no"), ("extra", 1)),
        ]);

        Assert.True(outcome.IsValid);
    }

    [Fact]
    public void GivesTheSameAnswersFromManyThreadsAsFromOne()
    {
        var records = SampleData.Churn(200, seed: 99).Select(row => SampleData.AsRecord(row, "churned")).ToList();
        var sequential = records.Select(record => Churn.Value.Predict([record]).Predictions.Single()).ToList();

        var parallel = new Prediction[records.Count];
        Parallel.For(0, records.Count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            parallel[i] = Churn.Value.Predict([records[i]]).Predictions.Single());

        Assert.Equal(sequential, parallel);
    }

    [Fact]
    public void RefusesAnArtifactThatDoesNotFitItsSignature()
    {
        var model = ModelTrainer.Train(
            TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Multiclass, SampleData.Iris()), new TrainingSettings("LbfgsMaximumEntropy"));
        var wrongSignature = model.Signature with { Inputs = [new ColumnSchema("something_else", ColumnType.Numeric)] };

        Assert.Throws<InvalidDataException>(() => ModelPredictor.Load(new MemoryStream(model.Artifact), wrongSignature));
    }
}
