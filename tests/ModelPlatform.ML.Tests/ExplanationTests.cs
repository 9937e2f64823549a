using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
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
    private static readonly Lazy<(TrainedModel, ModelPredictor)> PriceSdca = new(() =>
        Loaded(ModelTrainer.Train(
            TrainingData.Create(SampleData.PriceColumns, "price", MLTask.Regression, SampleData.Prices(600)), new TrainingSettings("Sdca"))));

    private static readonly Lazy<(TrainedModel, ModelPredictor)> ChurnLbfgs = new(() =>
        Loaded(ModelTrainer.Train(
            TrainingData.Create(SampleData.ChurnColumns, "churned", MLTask.Binary, SampleData.Churn(600)), new TrainingSettings("LbfgsLogisticRegression"))));

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
    public void LinearContributionsPutAreaFirstInTheUsersColumnsAndAddUpToTheScore()
    {
        var (model, predictor) = PriceSdca.Value;
        var explainer = predictor;
        var record = Read(model.Signature, ("area", 140.0), ("rooms", 2), ("district", "north"));

        var explanation = explainer.Explain(record, Reference(model));

        Assert.Equal(Explanation.FeatureContribution, explanation.Method);
        Assert.Equal(Explanation.Value, explanation.Output);
        // price = 3 × area + a district premium + 10 × rooms: 140 m² outweighs everything else.
        Assert.Equal(["area", "district", "rooms"], explanation.Contributions.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("area", explanation.Contributions.MaxBy(contribution => Math.Abs(contribution.Value)).Key);
        // A linear model's score is its bias plus every column's weights times its scaled values.
        var value = predictor.Predict([record])[0].Value!.Value;
        Assert.Equal(value, explanation.BaseValue + explanation.Contributions.Values.Sum(), Tolerance(value));
        Assert.Equal(Bias(model), explanation.BaseValue);
    }

    [Fact]
    public void ALinearColumnsContributionMovesAsThePredictionDoesWhenOnlyThatColumnChanges()
    {
        var (model, predictor) = PriceSdca.Value;
        var explainer = predictor;
        var reference = Reference(model);
        var small = Read(model.Signature, ("area", 50.0), ("rooms", 3), ("district", "north"));
        var large = Read(model.Signature, ("area", 120.0), ("rooms", 3), ("district", "north"));
        var central = Read(model.Signature, ("area", 120.0), ("rooms", 3), ("district", "centre"));

        var (first, second, third) = (explainer.Explain(small, reference), explainer.Explain(large, reference), explainer.Explain(central, reference));

        // w·x per column: the area's contribution alone moves with the area, and the district's one-hot slots with the district.
        var values = predictor.Predict([small, large, central]).Select(prediction => (double)prediction.Value!.Value).ToArray();
        Assert.Equal(values[1] - values[0], second.Contributions["area"] - first.Contributions["area"], Tolerance(values[1]));
        Assert.Equal(first.Contributions["district"], second.Contributions["district"]);
        Assert.Equal(values[2] - values[1], third.Contributions["district"] - second.Contributions["district"], Tolerance(values[2]));
        Assert.Equal(second.Contributions["area"], third.Contributions["area"]);
        Assert.Equal(first.Contributions["rooms"], third.Contributions["rooms"]);
    }

    [Fact]
    public void EachFeatureSlotIsMappedToTheColumnWhoseSlotNameItBears()
    {
        var (model, _) = ChurnLbfgs.Value;
        var featurized = Members(model)[0].Model.GetOutputSchema(ModelSchema.ForInputs(model.Signature.Inputs));

        var slotColumns = PipelineFactory.FeatureSlotColumns(model.Signature, featurized)!;

        // ML.NET names the slots after the blocks they were joined from: __numeric.tenure, __encoded.__onehot_plan.basic.
        VBuffer<ReadOnlyMemory<char>> names = default;
        featurized[ModelSchema.FeaturesColumn].GetSlotNames(ref names);
        var slotNames = names.DenseValues().Select(name => name.ToString()).ToArray();
        Assert.Equal(slotNames.Length, slotColumns.Length);
        var expected = slotNames.Select(name => name switch
        {
            _ when name.StartsWith("__numeric.", StringComparison.Ordinal) => name["__numeric.".Length..],
            _ when name.StartsWith("__encoded.__onehot_plan.", StringComparison.Ordinal) => "plan",
            _ when name.StartsWith("__encoded.__text_last_ticket.", StringComparison.Ordinal) => "last_ticket",
            _ => $"unexpected slot {name}",
        });
        Assert.Equal(expected, slotColumns.Select(column => model.Signature.Inputs[column].Name));
        // One slot per plan seen in training, all of them the plan's; a text's hundreds of n-grams, all of them the text's.
        Assert.Equal(3, slotColumns.Count(column => model.Signature.Inputs[column].Name == "plan"));
        Assert.InRange(slotColumns.Count(column => model.Signature.Inputs[column].Name == "last_ticket"), 100, 10_000);
    }

    [Fact]
    public void TreeContributionsAreKeyedByColumnAndLeaveTheRestToTheBaseValue()
    {
        var data = TrainingData.Create(SampleData.PriceColumns, "price", MLTask.Regression, SampleData.Prices(600));
        var model = ModelTrainer.Train(data, new TrainingSettings("FastTree", new Dictionary<string, double> { ["numberOfTrees"] = 20 }));
        var explainer = Predictor(model);
        var record = Read(model.Signature, ("area", 140.0), ("rooms", 2), ("district", "centre"));

        var explanation = explainer.Explain(record, Reference(model));

        Assert.Equal(Explanation.FeatureContribution, explanation.Method);
        Assert.Equal(["area", "district", "rooms"], explanation.Contributions.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("area", explanation.Contributions.MaxBy(contribution => Math.Abs(contribution.Value)).Key);
        var value = Predictor(model).Predict([record])[0].Value!.Value;
        Assert.Equal(value, explanation.BaseValue + explanation.Contributions.Values.Sum(), Tolerance(value));
    }

    [Fact]
    public void AComplaintInTheTicketOutweighsTheOtherColumns()
    {
        var (model, predictor) = ChurnLbfgs.Value;
        var explainer = predictor;
        var record = Read(
            model.Signature,
            ("customer_id", "c1"), ("tenure", 30), ("plan", "pro"), ("autopay", true), ("last_ticket", "the service keeps failing and nobody answers"));

        var contributions = explainer.Explain(record, Reference(model));
        var shapley = ShapleyValues.Explain(model.Signature, predictor.Predict, record, Reference(model));

        // The calibrated model is explained in its margin by its own contributions, and in its probability by Shapley's.
        Assert.Equal((Explanation.FeatureContribution, Explanation.Score), (contributions.Method, contributions.Output));
        Assert.Equal((Explanation.ShapleySampling, Explanation.Probability), (shapley.Method, shapley.Output));
        foreach (var explanation in new[] { contributions, shapley })
        {
            Assert.Equal(model.Signature.Inputs.Select(input => input.Name).Order(), explanation.Contributions.Keys.Order());
            Assert.Equal("last_ticket", explanation.Contributions.MaxBy(contribution => Math.Abs(contribution.Value)).Key);
            Assert.True(explanation.Contributions["last_ticket"] > 0, $"last_ticket: {explanation.Contributions["last_ticket"]}");
        }
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
    public void AnEnsembleIsExplainedInTheProbabilityItServes()
    {
        var data = TrainingData.Create(SampleData.ChurnColumns, "churned", MLTask.Binary, SampleData.Churn(600));
        var linear = ModelTrainer.Train(data, new TrainingSettings("LbfgsLogisticRegression"));
        var trees = ModelTrainer.Train(data, new TrainingSettings("FastTree", new Dictionary<string, double> { ["numberOfTrees"] = 20 }));
        var ml = new MLContext();
        List<(ITransformer, double)> members = [(Members(linear)[0].Model, 0.25), (Members(trees)[0].Model, 0.75)];
        var ensemble = ModelPredictor.Load(
            new MemoryStream(ModelArtifact.Save(ml, members, ModelSchema.ForInputs(linear.Signature.Inputs))), linear.Signature);
        var record = Read(
            linear.Signature,
            ("customer_id", "c1"), ("tenure", 3), ("plan", "basic"), ("autopay", false), ("last_ticket", "cancel my account this is too slow"));

        var explanation = ensemble.Explain(record, Reference(linear));

        Assert.Equal(Explanation.ShapleySampling, ensemble.ExplanationMethod);
        Assert.Equal(Explanation.Probability, explanation.Output);
        var probability = ensemble.Predict([record])[0].Probability!.Value;
        Assert.Equal(probability, explanation.BaseValue + explanation.Contributions.Values.Sum(), 1e-4);
        Assert.Equal(ensemble.Predict([Reference(linear)])[0].Probability!.Value, explanation.BaseValue, 1e-4);
    }

    [Fact]
    public void AMulticlassModelIsExplainedInTheScoreOfThePredictedClass()
    {
        var data = TrainingData.Create(SampleData.IrisColumns, "species", MLTask.Multiclass, SampleData.Iris());
        var model = ModelTrainer.Train(data, new TrainingSettings("LbfgsMaximumEntropy"));
        var explainer = Predictor(model);
        var record = Read(model.Signature, ("sepal_length", 6.3), ("sepal_width", 3.3), ("petal_length", 6.0), ("petal_width", 2.5));

        var explanation = explainer.Explain(record, Reference(model));

        Assert.Equal((Explanation.ShapleySampling, Explanation.Score), (explanation.Method, explanation.Output));
        var prediction = Predictor(model).Predict([record])[0];
        Assert.Equal("virginica", prediction.Label);
        Assert.Equal(prediction.Scores!["virginica"], explanation.BaseValue + explanation.Contributions.Values.Sum(), 1e-4);
        Assert.Equal(Predictor(model).Predict([Reference(model)])[0].Scores!["virginica"], explanation.BaseValue, 1e-4);
        Assert.StartsWith("petal_", explanation.Contributions.MaxBy(contribution => Math.Abs(contribution.Value)).Key, StringComparison.Ordinal);
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

    [Fact]
    public void ExplanationsFromManyThreadsMatchThoseFromOne()
    {
        var (model, explainer) = ChurnLbfgs.Value;
        var reference = Reference(model);
        var records = SampleData.Churn(50, seed: 5).Select(row => RecordReader.Read(model.Signature.Inputs, [SampleData.AsRecord(row, "churned")]).Records[0])
            .ToList();
        var sequential = records.Select(record => explainer.Explain(record, reference).Contributions).ToList();

        var parallel = new IReadOnlyDictionary<string, double>[records.Count];
        Parallel.For(
            0, records.Count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => parallel[i] = explainer.Explain(records[i], reference).Contributions);

        Assert.Equal(sequential, parallel);
    }

    private static (TrainedModel, ModelPredictor) Loaded(TrainedModel model) => (model, Predictor(model));

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

    private static IReadOnlyList<(ITransformer Model, double Weight)> Members(TrainedModel model) =>
        ModelArtifact.Load(new MLContext(), new MemoryStream(model.Artifact)).Members;

    private static ModelPredictor Predictor(TrainedModel model) => ModelPredictor.Load(new MemoryStream(model.Artifact), model.Signature);

    private static ModelRecord Reference(TrainedModel model) => ReferenceRow.ToRecord(model.Signature.Inputs, model.Reference!);

    private static ModelRecord Read(ModelSignature signature, params (string Column, object? Value)[] values)
    {
        var (records, errors) = RecordReader.Read(signature.Inputs, [SampleData.Record(values)]);
        Assert.Empty(errors);
        return records[0];
    }

    // The loaded model is a chain whose last transformer is the trainer's.
    private static float Bias(TrainedModel model)
    {
        var predictor = (ISingleFeaturePredictionTransformer<object>)((IEnumerable<ITransformer>)Members(model)[0].Model).Last();
        return ((LinearRegressionModelParameters)predictor.Model).Bias;
    }

    // The model computes in floats: a few of their roundings of the output's size.
    private static double Tolerance(double value) => 1e-6 * Math.Max(1, Math.Abs(value));

    private static int Index(ModelSignature signature, string column) =>
        signature.Inputs.Select((input, i) => (input, i)).Single(pair => pair.input.Name == column).i;
}
