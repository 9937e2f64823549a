using System.Text.Json;
using ModelPlatform.Contracts;
using ModelPlatform.ML.Explanations;

namespace ModelPlatform.ML.Tests;

/// <summary>
/// Explanations of single predictions speak in the user's columns and add up: the reference row is the training data's
/// typical row, Shapley values sum to the output's move away from it, and ML.NET's feature contributions are summed from
/// the model's slots back to the columns they came from.
/// </summary>
public sealed class ExplanationTests
{
    [Fact]
    public void TheReferenceRowIsTheTrainingMeanAndMostFrequentValue()
    {
        // The first 800 rows train the model; the rest are its hold-out, which the reference must not see.
        var rows = SampleData.Prices(1_000);
        var data = TrainingData.Create(SampleData.PriceColumns, "price", MLTask.Regression, rows);

        var model = ModelTrainer.Train(data, new TrainingSettings("Sdca", HoldOutFromRow: 800));

        var training = rows.Take(800).ToList();
        var reference = model.Reference!;
        Assert.Equal(["area", "rooms", "district"], reference.Keys);
        // The model reads numbers as floats.
        Assert.Equal(training.Average(row => row["area"].GetDouble()), reference["area"].GetDouble(), 1e-4);
        Assert.Equal(training.Average(row => row["rooms"].GetDouble()), reference["rooms"].GetDouble(), 1e-4);
        var mostFrequent = training.GroupBy(row => row["district"].GetString()).MaxBy(group => group.Count())!.Key;
        Assert.Equal(mostFrequent, reference["district"].GetString());
    }

    [Fact]
    public void TheReferenceRowReadsBackAsARecordTheModelImputesAlike()
    {
        var data = TrainingData.Create(SampleData.ChurnColumns, "churned", MLTask.Binary, SampleData.Churn(600));
        var model = ModelTrainer.Train(data, new TrainingSettings("LbfgsLogisticRegression"));

        // Through JSON, as the registry keeps it.
        var stored = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(JsonSerializer.Serialize(model.Reference))!;
        var record = ReferenceRow.ToRecord(model.Signature.Inputs, stored);

        // A boolean's mean is no boolean: null, which the pipeline imputes with that mean. Text has no typical value.
        Assert.Equal(JsonValueKind.Null, stored["autopay"].ValueKind);
        Assert.Equal(string.Empty, stored["last_ticket"].GetString());
        var tenure = Index(model.Signature, "tenure");
        Assert.Equal((float)stored["tenure"].GetDouble(), record.Numbers[tenure]);
        // The mean is what the model imputes a missing number with: both score the same.
        var predictor = ModelPredictor.Load(new MemoryStream(model.Artifact), model.Signature);
        var missing = record with { Numbers = [.. record.Numbers] };
        missing.Numbers[tenure] = float.NaN;
        Assert.Equal(predictor.Predict([record])[0].Probability!.Value, predictor.Predict([missing])[0].Probability!.Value, 1e-5);
    }

    [Fact]
    public void AReferenceRowWithoutAColumnIsRefused()
    {
        var inputs = SampleData.PriceColumns.Take(3).ToList();
        var reference = new Dictionary<string, JsonElement> { ["area"] = JsonSerializer.SerializeToElement(80.0) };

        var error = Assert.Throws<InvalidDataException>(() => ReferenceRow.ToRecord(inputs, reference));

        Assert.Contains("rooms is missing", error.Message);
    }

    private static int Index(ModelSignature signature, string column) =>
        signature.Inputs.Select((input, i) => (input, i)).Single(pair => pair.input.Name == column).i;
}
