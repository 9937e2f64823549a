using System.Text.Json;
using ModelPlatform.Contracts;
using ModelPlatform.ML;

namespace ModelPlatform.Inference.Tests;

/// <summary>The churn model the tests serve: its hand-written signature, and a small real one trained once per run.</summary>
internal static class TestModels
{
    public static ModelSignature Churn { get; } = new(
        MLTask.Binary,
        [new("age", ColumnType.Numeric), new("plan", ColumnType.Categorical), new("active", ColumnType.Boolean)],
        new("churned", ColumnType.Categorical),
        ["no", "yes"]);

    public static ModelSignature Iris { get; } = new(
        MLTask.Multiclass,
        [new("petal_length", ColumnType.Numeric), new("petal_width", ColumnType.Numeric)],
        new("species", ColumnType.Categorical),
        ["setosa", "versicolor", "virginica"]);

    public static ModelSignature Price { get; } = new(
        MLTask.Regression,
        [new("area", ColumnType.Numeric)],
        new("price", ColumnType.Numeric),
        null);

    /// <summary>A LBFGS logistic regression on 300 seeded churn rows, saved as an ML.NET zip: a real artifact that trains in about a second.</summary>
    public static Lazy<TrainedModel> Trained { get; } = new(() =>
    {
        ColumnSchema[] columns = [.. Churn.Inputs, Churn.Label];
        return ModelTrainer.Train(TrainingData.Create(columns, "churned", MLTask.Binary, ChurnRows(300)), new TrainingSettings("LbfgsLogisticRegression"));
    });

    public static ModelPredictor LoadTrained() => ModelPredictor.Load(new MemoryStream(Trained.Value.Artifact, writable: false), Trained.Value.Signature);

    public static ModelVersionInfo Version(ModelSignature signature, int version = 1, string model = "churn") => new(
        model, version, new string('0', 64), 1024, signature, new Dictionary<string, double>(),
        new ModelLineage("customers", 1, null, "LbfgsLogisticRegression"), [], DateTimeOffset.UnixEpoch);

    /// <summary>Young, inactive customers churn, with some noise.</summary>
    private static List<IReadOnlyDictionary<string, JsonElement>> ChurnRows(int count)
    {
        var random = new Random(7);
        string[] plans = ["basic", "pro", "enterprise"];
        return [.. Enumerable.Range(0, count).Select(_ =>
        {
            var age = random.Next(18, 80);
            var active = random.NextDouble() < 0.5;
            var churned = (age < 35 && !active) ^ (random.NextDouble() < 0.1);
            return (IReadOnlyDictionary<string, JsonElement>)new Dictionary<string, JsonElement>
            {
                ["age"] = JsonSerializer.SerializeToElement(age),
                ["plan"] = JsonSerializer.SerializeToElement(plans[random.Next(plans.Length)]),
                ["active"] = JsonSerializer.SerializeToElement(active),
                ["churned"] = JsonSerializer.SerializeToElement(churned ? "yes" : "no"),
            };
        })];
    }
}
