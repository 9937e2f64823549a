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

    [Fact]
    public void ShapleyValuesOfATreeModelAddUpToTheOutputsMoveFromTheReference()
    {
        var data = TrainingData.Create(SampleData.PriceColumns, "price", MLTask.Regression, SampleData.Prices(600));
        var model = ModelTrainer.Train(data, new TrainingSettings("FastTree", new Dictionary<string, double> { ["numberOfTrees"] = 20 }));
        var predictor = Predictor(model);
        var reference = Reference(model);
        // The rooms are the reference's own (its mean, rounded as a float), so they change nothing.
        var record = Read(model.Signature, ("area", 140.0), ("rooms", reference.Numbers[Index(model.Signature, "rooms")]), ("district", "centre"));

        var explanation = ShapleyValues.Explain(model.Signature, predictor.Predict, record, reference, seed: 3);

        Assert.Equal((Explanation.ShapleySampling, Explanation.Value), (explanation.Method, explanation.Output));
        var (value, baseline) = (predictor.Predict([record])[0].Value!.Value, predictor.Predict([reference])[0].Value!.Value);
        Assert.Equal(baseline, explanation.BaseValue, Tolerance(baseline));
        Assert.Equal(value, explanation.BaseValue + explanation.Contributions.Values.Sum(), Tolerance(value));
        Assert.Equal(0, explanation.Contributions["rooms"]);
        Assert.Equal("area", explanation.Contributions.MaxBy(contribution => Math.Abs(contribution.Value)).Key);
        Assert.Equal(explanation.Contributions, ShapleyValues.Explain(model.Signature, predictor.Predict, record, reference, seed: 3).Contributions);
    }

    [Fact]
    public void ManyColumnsAreSampledCloseToTheExactValuesAndAddUpForEverySeed()
    {
        // y = x0 + 2 × x1 × x2 + ..., 14 columns: 2^14 coalitions are more than the default budget, so orders are sampled.
        var (model, predictor) = ManyColumns();
        var record = Read(model.Signature, [.. Enumerable.Range(0, 14).Select(i => ($"x{i}", (object?)(0.9 - (0.05 * i))))]);
        var reference = Reference(model);

        var exact = ShapleyValues.Explain(model.Signature, predictor.Predict, record, reference, budget: 1 << 14);
        var sampled = ShapleyValues.Explain(model.Signature, predictor.Predict, record, reference, seed: 1);
        var again = ShapleyValues.Explain(model.Signature, predictor.Predict, record, reference, seed: 1);
        var otherSeed = ShapleyValues.Explain(model.Signature, predictor.Predict, record, reference, seed: 2);

        var value = predictor.Predict([record])[0].Value!.Value;
        foreach (var explanation in new[] { exact, sampled, otherSeed })
        {
            Assert.Equal(value, explanation.BaseValue + explanation.Contributions.Values.Sum(), 1e-4);
        }

        Assert.Equal(sampled.Contributions, again.Contributions);
        Assert.NotEqual(sampled.Contributions, otherSeed.Contributions);
        var spread = Math.Abs(value - exact.BaseValue);
        Assert.All(exact.Contributions, pair => Assert.InRange(sampled.Contributions[pair.Key] - pair.Value, -0.1 * spread, 0.1 * spread));
    }

    private static (TrainedModel, ModelPredictor) ManyColumns()
    {
        var random = new Random(5);
        var columns = Enumerable.Range(0, 14).Select(i => new ColumnSchema($"x{i}", ColumnType.Numeric))
            .Append(new ColumnSchema("y", ColumnType.Numeric)).ToList();
        var rows = Enumerable.Range(0, 400).Select(_ =>
        {
            var x = Enumerable.Range(0, 14).Select(_ => random.NextDouble()).ToArray();
            var y = x[0] + (2 * x[1] * x[2]) + x.Skip(3).Select((value, i) => value * (i + 1) / 10).Sum();
            return SampleData.Row([.. x.Select((value, i) => ($"x{i}", (object?)value)), ("y", y)]);
        }).ToList();
        var model = ModelTrainer.Train(
            TrainingData.Create(columns, "y", MLTask.Regression, rows),
            new TrainingSettings("FastTree", new Dictionary<string, double> { ["numberOfTrees"] = 30 }));
        return (model, Predictor(model));
    }

    private static ModelPredictor Predictor(TrainedModel model) => ModelPredictor.Load(new MemoryStream(model.Artifact), model.Signature);

    private static ModelRecord Reference(TrainedModel model) => ReferenceRow.ToRecord(model.Signature.Inputs, model.Reference!);

    private static ModelRecord Read(ModelSignature signature, params (string Column, object? Value)[] values)
    {
        var (records, errors) = RecordReader.Read(signature.Inputs, [SampleData.Record(values)]);
        Assert.Empty(errors);
        return records[0];
    }

    private static double Tolerance(double value) => 1e-6 * Math.Max(1, Math.Abs(value));

    private static int Index(ModelSignature signature, string column) =>
        signature.Inputs.Select((input, i) => (input, i)).Single(pair => pair.input.Name == column).i;
}
